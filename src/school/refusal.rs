//! Why the domain said no: a stable code and the values its words need, never a sentence.
//! The words live in one catalogue per language at the edge (`templates/messages/`, read by
//! `web::words`), so a new language is a file and the domain stays the same.

use std::fmt;

/// A refusal: `code` names the message (`templates/messages/<lang>.txt`), `args` the values
/// it shows (`{name}` in the message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Refusal {
    pub const fn new(code: &'static str) -> Refusal {
        Refusal {
            code,
            args: Vec::new(),
        }
    }

    /// The refusal with the value `name` shows.
    pub fn with(mut self, name: &'static str, value: impl fmt::Display) -> Refusal {
        self.args.push((name, value.to_string()));
        self
    }
}

/// The code, for logs and tests (the words are the edge's).
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

/// An answer: done, refused (with a code), or failed.
pub type Checked<T> = crate::error::AppResult<Result<T, Refusal>>;

/// A refusal as a [`Checked`] answer.
pub fn refuse<T>(code: &'static str) -> Checked<T> {
    Ok(Err(Refusal::new(code)))
}
