//! E-mail templates (minijinja): a subject, a plain-text body and an HTML body per notice
//! and language. The files in `templates/` are built into the binary; a file of the same
//! name in NARVARO_TEMPLATE_DIR replaces one. Every template is compiled and test-rendered
//! at start-up with strict undefined variables, so a typo stops the start with the file
//! and line instead of reaching a guardian.
//!
//! Swedish and English have a file each. The messages guardians receive also have one
//! `.any.` template for every other language, whose sentences come from the translation
//! catalogues (`{{ t("Svensk text {name}", name=...) }}`, the Swedish as the msgid, see
//! `i18n::catalogue`); a file `<kind>.<lang>.<part>` in NARVARO_TEMPLATE_DIR is used
//! instead for that language.

use std::path::Path;

use minijinja::{Environment, UndefinedBehavior};
use serde_json::{json, Value};

macro_rules! builtin {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}

const BUILTIN: &[(&str, &str)] = builtin![
    "unexplained_absence.sv.subject.txt",
    "unexplained_absence.sv.body.txt",
    "unexplained_absence.sv.body.html",
    "unexplained_absence.en.subject.txt",
    "unexplained_absence.en.body.txt",
    "unexplained_absence.en.body.html",
    "report_confirmation.sv.subject.txt",
    "report_confirmation.sv.body.txt",
    "report_confirmation.sv.body.html",
    "report_confirmation.en.subject.txt",
    "report_confirmation.en.body.txt",
    "report_confirmation.en.body.html",
    "leave_decision.sv.subject.txt",
    "leave_decision.sv.body.txt",
    "leave_decision.sv.body.html",
    "leave_decision.en.subject.txt",
    "leave_decision.en.body.txt",
    "leave_decision.en.body.html",
    "leave_confirmation.sv.subject.txt",
    "leave_confirmation.sv.body.txt",
    "leave_confirmation.sv.body.html",
    "leave_confirmation.en.subject.txt",
    "leave_confirmation.en.body.txt",
    "leave_confirmation.en.body.html",
    "threshold_alert.sv.subject.txt",
    "threshold_alert.sv.body.txt",
    "threshold_alert.sv.body.html",
    "threshold_alert.en.subject.txt",
    "threshold_alert.en.body.txt",
    "threshold_alert.en.body.html",
    "signal_raised.sv.subject.txt",
    "signal_raised.sv.body.txt",
    "signal_raised.sv.body.html",
    "signal_raised.en.subject.txt",
    "signal_raised.en.body.txt",
    "signal_raised.en.body.html",
    "signal_guardian.sv.subject.txt",
    "signal_guardian.sv.body.txt",
    "signal_guardian.sv.body.html",
    "signal_guardian.en.subject.txt",
    "signal_guardian.en.body.txt",
    "signal_guardian.en.body.html",
    "sign_in_link.sv.subject.txt",
    "sign_in_link.sv.body.txt",
    "sign_in_link.sv.body.html",
    "sign_in_link.en.subject.txt",
    "sign_in_link.en.body.txt",
    "sign_in_link.en.body.html",
    "password_reset.sv.subject.txt",
    "password_reset.sv.body.txt",
    "password_reset.sv.body.html",
    "password_reset.en.subject.txt",
    "password_reset.en.body.txt",
    "password_reset.en.body.html",
    "invitation.sv.subject.txt",
    "invitation.sv.body.txt",
    "invitation.sv.body.html",
    "invitation.en.subject.txt",
    "invitation.en.body.txt",
    "invitation.en.body.html",
    "unexplained_absence.any.subject.txt",
    "unexplained_absence.any.body.txt",
    "unexplained_absence.any.body.html",
    "report_confirmation.any.subject.txt",
    "report_confirmation.any.body.txt",
    "report_confirmation.any.body.html",
    "leave_decision.any.subject.txt",
    "leave_decision.any.body.txt",
    "leave_decision.any.body.html",
    "leave_confirmation.any.subject.txt",
    "leave_confirmation.any.body.txt",
    "leave_confirmation.any.body.html",
    "signal_guardian.any.subject.txt",
    "signal_guardian.any.body.txt",
    "signal_guardian.any.body.html",
    "sign_in_link.any.subject.txt",
    "sign_in_link.any.body.txt",
    "sign_in_link.any.body.html",
];

/// The languages a municipality may give a template file of its own for (beyond the
/// built-in Swedish and English): `<kind>.<lang>.<part>` in NARVARO_TEMPLATE_DIR.
const OWN_FILE_LANGS: [&str; 7] = ["ar", "so", "fa", "ti", "uk", "fi", "bs"];

/// `t("Svensk text {name}", name=value)`: the sentence in the message's language (`_lang`)
/// from the catalogue, its placeholders filled in.
fn translate(
    state: &minijinja::State,
    text: String,
    kwargs: minijinja::value::Kwargs,
) -> Result<String, minijinja::Error> {
    let lang = state
        .lookup("_lang")
        .and_then(|v| v.as_str().and_then(crate::i18n::Lang::parse))
        .unwrap_or_default();
    let mut out = lang.pick(&text, &text).to_string();
    for name in kwargs.args() {
        let value: minijinja::Value = kwargs.get(name)?;
        out = out.replace(&format!("{{{name}}}"), &lang.value(&value.to_string()));
    }
    Ok(out)
}

/// A sample of what each notice's templates are given, to test-render them at start-up.
fn sample(kind: &str) -> Value {
    match kind {
        "unexplained_absence" => json!({
            "guardian_name": "Anna", "child_name": "Bo Ek", "protected": false, "date": "måndag 23 november",
            "lessons": [{"starts_at": "08:10", "ends_at": "09:10", "subject": "Svenska", "status": "Frånvarande", "minutes": 60}],
            "confirm_url": "https://example.org/x", "refused_leave": false,
        }),
        "report_confirmation" => {
            json!({"guardian_name": "Anna", "child_name": "Bo Ek", "protected": false, "from": "2026-11-23 00:00", "to": "2026-11-24 00:00", "period": "måndag 23 november, hela dagen", "cancelled": false, "pupil_url": "https://narvaro.example/pupils/7"})
        }
        "leave_decision" => {
            json!({"guardian_name": "Anna", "child_name": "Bo Ek", "protected": false, "start_date": "2026-11-23", "end_date": "2026-11-24", "period": "måndag 23 november – tisdag 24 november", "approved": true, "declined": false, "comment": "ok", "delegated": 10, "pupil_url": "https://narvaro.example/pupils/7"})
        }
        "leave_confirmation" => {
            json!({"guardian_name": "Anna", "child_name": "Bo Ek", "protected": false, "period": "måndag 23 november – tisdag 24 november", "answer_url": "https://narvaro.example/leave-applications/7/answer"})
        }
        "signal_raised" => {
            json!({"staff_name": "Eva", "pupil_label": "Bo Ek", "period": "måndag 2 november – fredag 27 november", "signals_url": "https://narvaro.example/signals"})
        }
        "signal_guardian" => {
            json!({"guardian_name": "Anna", "child_name": "Bo Ek", "protected": false, "period": "måndag 2 november – fredag 27 november", "pupil_url": "https://narvaro.example/pupils/7"})
        }
        "sign_in_link" | "password_reset" | "invitation" => {
            json!({"given_name": "Anna", "url": "https://example.org/login/link/0123"})
        }
        _ => {
            json!({"staff_name": "Eva", "pupil_label": "Bo Ek", "percent": "16", "days": 30, "threshold": 15, "pupil_url": "https://example.org/p"})
        }
    }
}

pub struct Templates {
    env: Environment<'static>,
}

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Templates {
    /// The built-in templates, with the files in `dir` replacing them.
    pub fn load(dir: Option<&Path>) -> Result<Templates, String> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_function("t", translate);
        let own: Vec<(String, &str)> = BUILTIN
            .iter()
            .filter(|(name, _)| name.contains(".any."))
            .flat_map(|(name, source)| {
                OWN_FILE_LANGS
                    .iter()
                    .map(move |l| (name.replace(".any.", &format!(".{l}.")), *source))
            })
            .filter(|(name, _)| dir.is_some_and(|d| d.join(name).is_file()))
            .collect();
        let all = BUILTIN.iter().map(|(n, s)| (n.to_string(), *s)).chain(own);
        for (name, source) in all {
            let name = name.as_str();
            let (source, origin) = match dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
                Some(path) => (
                    std::fs::read_to_string(&path)
                        .map_err(|e| format!("NARVARO_TEMPLATE_DIR: {}: {e}", path.display()))?,
                    path.display().to_string(),
                ),
                None => (source.to_string(), format!("templates/{name}")),
            };
            env.add_template_owned(name.to_string(), source)
                .map_err(|e| describe(&origin, &e))?;
            let kind = name.split('.').next().unwrap_or_default();
            let mut sample = sample(kind);
            sample["_lang"] = json!("sv");
            sample["_dir"] = json!("ltr");
            env.get_template(name)
                .and_then(|t| t.render(sample))
                .map_err(|e| describe(&origin, &e))?;
        }
        Ok(Templates { env })
    }

    /// The notice in `lang`: its own file, else the catalogue's words (`.any.`), else
    /// Swedish (staff's notices are in Swedish and English only).
    pub fn render(&self, kind: &str, lang: &str, ctx: &Value) -> Result<Rendered, String> {
        let language = crate::i18n::Lang::parse(lang).unwrap_or_default();
        let has = |l: &str| {
            self.env
                .get_template(&format!("{kind}.{l}.subject.txt"))
                .is_ok()
        };
        let file = [language.code(), "any", "sv"]
            .into_iter()
            .find(|l| has(l))
            .unwrap_or("sv");
        let (code, dir) = if file == "sv" {
            ("sv", "ltr")
        } else {
            (language.code(), language.dir())
        };
        let mut ctx = ctx.clone();
        ctx["_lang"] = json!(code);
        ctx["_dir"] = json!(dir);
        let part = |p: &str| {
            let name = format!("{kind}.{file}.{p}");
            self.env
                .get_template(&name)
                .and_then(|t| t.render(&ctx))
                .map_err(|e| describe(&name, &e))
        };
        Ok(Rendered {
            subject: part("subject.txt")?.trim().to_string(),
            text: part("body.txt")?,
            html: part("body.html")?,
        })
    }
}

fn describe(file: &str, e: &minijinja::Error) -> String {
    match e.line() {
        Some(line) => format!(
            "template {file}, line {line}: {}",
            e.detail().unwrap_or(&e.kind().to_string())
        ),
        None => format!("template {file}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_templates_render_in_both_languages() {
        let t = Templates::load(None).unwrap();
        let r = t
            .render("unexplained_absence", "sv", &sample("unexplained_absence"))
            .unwrap();
        assert_eq!(r.subject, "Frånvaro utan anmälan måndag 23 november");
        assert!(r.text.contains("08:10–09:10 Svenska"));
        let r = t
            .render("leave_decision", "en", &sample("leave_decision"))
            .unwrap();
        assert!(r.subject.contains("approved"));
        // HTML bodies escape what they are given
        let mut ctx = sample("threshold_alert");
        ctx["pupil_label"] = json!("<script>");
        let r = t.render("threshold_alert", "sv", &ctx).unwrap();
        assert!(r.html.contains("&lt;script&gt;") && r.text.contains("<script>"));
    }

    #[test]
    fn every_message_a_guardian_receives_is_in_every_language() {
        let t = Templates::load(None).unwrap();
        for (name, source) in BUILTIN.iter().filter(|(n, _)| n.contains(".any.")) {
            // every sentence the template asks the catalogue for is translated
            for piece in source.split("t(\"").skip(1) {
                let msgid = piece.split('"').next().unwrap();
                for lang in crate::i18n::Lang::ALL.into_iter().skip(2) {
                    assert!(
                        crate::i18n::catalogue::has(lang, msgid),
                        "templates/{name}: \"{msgid}\" has no {} translation",
                        lang.code()
                    );
                }
            }
        }
        let r = t
            .render("unexplained_absence", "ar", &sample("unexplained_absence"))
            .unwrap();
        assert_eq!(r.subject, "غياب بدون إبلاغ måndag 23 november");
        assert!(r.html.contains("dir=\"rtl\"") && r.html.contains("lang=\"ar\""));
        assert!(r.text.contains("مرحبًا Anna"), "{}", r.text);
        // staff's notices stay Swedish for a reader of another language
        let so = t
            .render("signal_raised", "so", &sample("signal_raised"))
            .unwrap();
        let sv = t
            .render("signal_raised", "sv", &sample("signal_raised"))
            .unwrap();
        assert_eq!((so.subject, so.text), (sv.subject, sv.text));
    }

    #[test]
    fn a_bad_override_names_the_file_and_line() {
        let dir = std::env::temp_dir().join(format!("narvaro-tpl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("leave_decision.sv.body.txt"),
            "Hej\n{{ guardian_name }}\n{{ no_such_variable }}\n",
        )
        .unwrap();
        let err = Templates::load(Some(&dir)).err().unwrap();
        assert!(
            err.contains("leave_decision.sv.body.txt") && err.contains("line 3"),
            "{err}"
        );
        std::fs::write(
            dir.join("leave_decision.sv.body.txt"),
            "{% if approved %}\n",
        )
        .unwrap();
        let err = Templates::load(Some(&dir)).err().unwrap();
        assert!(err.contains("leave_decision.sv.body.txt"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
