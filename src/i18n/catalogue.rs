//! The translations beyond Swedish and English: one gettext PO file per language in
//! `templates/translations/`, the Swedish text as the `msgid` (Swedish is the source; the
//! English words stay beside the Swedish in the code). A file of the same name in
//! `NARVARO_TEMPLATE_DIR/translations/` overrides single messages. A message whose `{name}`
//! placeholders differ from the Swedish stops the start, naming the file and the message.
//! A text a language lacks is said in Swedish and remembered, so the completeness test can
//! name it.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Mutex, OnceLock, RwLock};

use super::Lang;

macro_rules! builtin {
    ($($lang:ident => $file:literal),* $(,)?) => {
        /// The catalogues built into the binary, by language.
        pub const BUILTIN: &[(Lang, &str, &str)] = &[
            $((Lang::$lang, $file, include_str!(concat!("../../templates/translations/", $file)))),*
        ];
    };
}

builtin! {
    Ar => "ar.po",
    So => "so.po",
    Fa => "fa.po",
    Ti => "ti.po",
    Uk => "uk.po",
    Fi => "fi.po",
    Bs => "bs.po",
}

type Table = HashMap<Lang, HashMap<String, String>>;

fn current() -> &'static RwLock<&'static Table> {
    static CURRENT: OnceLock<RwLock<&'static Table>> = OnceLock::new();
    CURRENT.get_or_init(|| {
        // The built-in files are checked by a test; should one be broken, its language is
        // said in Swedish rather than stopping a process that never called `load`.
        let table = build(None).unwrap_or_default();
        RwLock::new(Box::leak(Box::new(table)))
    })
}

/// Reads the built-in catalogues and the overrides in `dir/translations/`, checks them and
/// makes them the ones in use. An error names the file and the message.
pub fn load(dir: Option<&Path>) -> Result<(), String> {
    let table = build(dir)?;
    let lock = current();
    let same = lock.read().map(|t| **t == table).unwrap_or(false);
    if !same {
        if let Ok(mut t) = lock.write() {
            *t = Box::leak(Box::new(table));
        }
    }
    Ok(())
}

fn build(dir: Option<&Path>) -> Result<Table, String> {
    let mut table = Table::new();
    for (lang, file, text) in BUILTIN {
        let entries = parse(file, text.as_bytes())?;
        let mut messages = entries;
        if let Some(dir) = dir {
            let path = dir.join("translations").join(file);
            if path.exists() {
                let bytes = std::fs::read(&path)
                    .map_err(|e| format!("NARVARO_TEMPLATE_DIR: {}: {e}", path.display()))?;
                let shown = path.display().to_string();
                messages.extend(parse(&shown, &bytes)?);
            }
        }
        table.insert(*lang, messages);
    }
    Ok(table)
}

/// The translated messages of one PO file, each checked to keep the Swedish placeholders.
pub fn parse(file: &str, bytes: &[u8]) -> Result<HashMap<String, String>, String> {
    let catalog = polib::po_file::parse_from_reader(bytes)
        .map_err(|e| format!("{file}: not a readable PO file: {e}"))?;
    let mut out = HashMap::new();
    for m in catalog.messages() {
        if !m.is_translated() || m.is_fuzzy() {
            continue;
        }
        let Ok(text) = m.msgstr() else { continue };
        let (want, got) = (placeholders(m.msgid()), placeholders(text));
        if want != got {
            return Err(format!(
                "{file}: the message \"{}\" has the placeholders {:?}, the Swedish has {:?}",
                m.msgid(),
                got,
                want
            ));
        }
        out.insert(m.msgid().to_string(), text.to_string());
    }
    Ok(out)
}

/// The `{name}` placeholders of a text.
pub fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.insert(name.to_string());
        }
        rest = &after[close + 1..];
    }
    out
}

/// Whether the catalogue in use has a translation of the Swedish `sv` into `lang`.
pub fn has(lang: Lang, sv: &str) -> bool {
    current()
        .read()
        .map(|t| t.get(&lang).is_some_and(|m| m.contains_key(sv)))
        .unwrap_or(false)
}

/// The text for the Swedish `sv` in `lang`, when the catalogue has it.
pub fn lookup(lang: Lang, sv: &str) -> Option<&'static str> {
    let table: &'static Table = *current().read().ok()?;
    let found = table.get(&lang)?.get(sv).map(String::as_str);
    if found.is_none() {
        missed(lang, sv);
    }
    found
}

fn misses() -> &'static Mutex<BTreeSet<(&'static str, String)>> {
    static MISSES: OnceLock<Mutex<BTreeSet<(&'static str, String)>>> = OnceLock::new();
    MISSES.get_or_init(Default::default)
}

fn missed(lang: Lang, sv: &str) {
    if let Ok(mut set) = misses().lock() {
        if set.len() < 10_000 && set.insert((lang.code(), sv.to_string())) {
            tracing::warn!(
                lang = lang.code(),
                msgid = sv,
                "a text without a translation"
            );
        }
    }
}

/// Every (language, Swedish text) asked for and not found since the process started.
pub fn missing() -> Vec<(String, String)> {
    misses()
        .lock()
        .map(|s| s.iter().map(|(l, t)| (l.to_string(), t.clone())).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_catalogue_reads_and_keeps_the_placeholders() {
        for (_, file, text) in BUILTIN {
            let entries = parse(file, text.as_bytes()).unwrap();
            assert!(entries.len() > 100, "{file} has {} messages", entries.len());
        }
    }

    #[test]
    fn every_language_has_the_same_messages() {
        let sets: Vec<(&str, BTreeSet<String>)> = BUILTIN
            .iter()
            .map(|(_, file, text)| {
                let keys = parse(file, text.as_bytes()).unwrap().into_keys().collect();
                (*file, keys)
            })
            .collect();
        let (first, want) = &sets[0];
        for (file, got) in &sets[1..] {
            let lacking: Vec<_> = want.difference(got).collect();
            let extra: Vec<_> = got.difference(want).collect();
            assert!(
                lacking.is_empty(),
                "{file} lacks (has {first}): {lacking:?}"
            );
            assert!(extra.is_empty(), "{file} has beyond {first}: {extra:?}");
        }
    }

    #[test]
    fn a_broken_placeholder_names_the_file_and_the_message() {
        let po = "msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n\n\
                  msgid \"Hej {name}\"\nmsgstr \"Hello {nmae}\"\n";
        let e = parse("so.po", po.as_bytes()).unwrap_err();
        assert!(e.contains("so.po") && e.contains("Hej {name}"), "{e}");
    }

    #[test]
    fn placeholders_are_names_in_braces() {
        let p = placeholders("{n} av {total} {x-y} {}");
        assert_eq!(p.into_iter().collect::<Vec<_>>(), ["n", "total"]);
    }
}
