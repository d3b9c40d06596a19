//! Why the domain said no: a stable code and the values its words need, never a sentence.
//! The words live in one catalogue per language at the edge (`templates/messages/`, read by
//! `web::words`), so a new language is a file and the domain stays the same.

pub use crate::error::Refusal;

/// An answer: done, refused (with a code), or failed.
pub type Checked<T> = crate::error::AppResult<Result<T, Refusal>>;

/// A refusal as a [`Checked`] answer.
pub fn refuse<T>(code: &'static str) -> Checked<T> {
    Ok(Err(Refusal::new(code)))
}
