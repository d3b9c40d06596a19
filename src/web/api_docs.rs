//! The API's contract: `api-spec/openapi.yaml`, served as it is at `/api/v1/openapi.yaml`
//! and as a readable reference at `/api/docs` (rendered here from the same document, no
//! script and no CDN).

use std::sync::OnceLock;

use actix_web::{HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde_json::Value;

use super::common::html_response;
use super::layout::{self, PageCtx};

/// The OpenAPI document, built into the binary.
pub const OPENAPI_YAML: &str = include_str!("../../api-spec/openapi.yaml");

/// The document as JSON values (parsed once; a test checks that it parses).
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| yaml_serde::from_str(OPENAPI_YAML).unwrap_or(Value::Null))
}

pub async fn openapi_yaml() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(OPENAPI_YAML)
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let mut at = doc;
            for part in r.trim_start_matches("#/").split('/') {
                at = &at[part];
            }
            at
        }
        None => v,
    }
}

fn type_name(doc: &Value, s: &Value) -> String {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    let s = resolve(doc, s);
    if let Some(c) = s.get("const") {
        return format!("\"{}\"", c.as_str().unwrap_or_default());
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        let names: Vec<String> = e
            .iter()
            .map(|v| match v {
                Value::Null => "null".into(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        return names.join(" | ");
    }
    let base = match s.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "object".into(),
    };
    let base = match s.get("format").and_then(Value::as_str) {
        Some(f) => format!("{base} ({f})"),
        None => base,
    };
    if base.starts_with("array") {
        return format!("array of {}", type_name(doc, &s["items"]));
    }
    base
}

/// A schema as a nested list of its properties.
fn schema(doc: &Value, s: &Value, depth: usize) -> Markup {
    let s = resolve(doc, s);
    if depth > 3 {
        return html! {};
    }
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        return html! { @for part in all { (schema(doc, part, depth)) } };
    }
    let inner = if s.get("items").is_some() {
        resolve(doc, &s["items"])
    } else {
        s
    };
    let Some(props) = inner.get("properties").and_then(Value::as_object) else {
        return html! {};
    };
    let required: Vec<&str> = inner
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    html! {
        ul.schema {
            @for (name, p) in props {
                li {
                    code { (name) } " "
                    span.muted { (type_name(doc, p)) @if !required.contains(&name.as_str()) { ", " em { "optional" } } }
                    @if let Some(d) = resolve(doc, p).get("description").and_then(Value::as_str) { " – " (d) }
                    (schema(doc, p, depth + 1))
                }
            }
        }
    }
}

/// GET /api/docs: the API reference.
pub async fn page(req: HttpRequest) -> HttpResponse {
    let ctx = PageCtx::new(&req);
    let doc = document();
    let title = "API";
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    let body = html! {
        h1 { (doc["info"]["title"].as_str().unwrap_or("Närvaro API")) }
        p { (ctx.t("Referensen är på engelska. Dokumentet: ", "The machine-readable document: ")) a href="/api/v1/openapi.yaml" { "openapi.yaml" } " (OpenAPI 3.1)." }
        @for para in doc["info"]["description"].as_str().unwrap_or_default().split("\n\n") { p { (para) } }
        nav aria-label=(ctx.t("Anrop", "Endpoints")) {
            ul {
                @for (path, item) in &paths {
                    @for m in METHODS { @if let Some(op) = item.get(m) {
                        li { a href={"#" (m) (path.replace(['/', '{', '}', '.'], "-"))} { code { (m.to_uppercase()) " " (path) } } " – " (op["summary"].as_str().unwrap_or_default()) }
                    } }
                }
            }
        }
        @for (path, item) in &paths {
            @for m in METHODS { @if let Some(op) = item.get(m) {
                section.card.endpoint id={(m) (path.replace(['/', '{', '}', '.'], "-"))} {
                    h2 { code { (m.to_uppercase()) " " (path) } }
                    p { (op["summary"].as_str().unwrap_or_default()) }
                    @if let Some(d) = op["description"].as_str() { p { (d) } }
                    p.muted { @if op.get("security").and_then(Value::as_array).is_some_and(|s| s.is_empty()) { "No token needed." } @else { "Bearer token." } }
                    @if let Some(params) = op["parameters"].as_array() {
                        h3 { "Parameters" }
                        ul.schema { @for p in params { @let p = resolve(doc, p); li {
                            code { (p["name"].as_str().unwrap_or_default()) } " "
                            span.muted { "(" (p["in"].as_str().unwrap_or_default()) ", " (type_name(doc, &p["schema"])) @if p["required"].as_bool() != Some(true) { ", " em { "optional" } } ")" }
                            @if let Some(d) = p["description"].as_str() { " – " (d) }
                        } } }
                    }
                    @if let Some(content) = op["requestBody"]["content"].as_object() {
                        h3 { "Body" }
                        @for (mime, c) in content { p.muted { (mime) } (schema(doc, &c["schema"], 0)) }
                    }
                    h3 { "Responses" }
                    ul.responses {
                        @for (status, r) in op["responses"].as_object().cloned().unwrap_or_default() {
                            @let r = resolve(doc, &r).clone();
                            li {
                                strong { (status) } " " (r["description"].as_str().unwrap_or_default())
                                @if let Some(content) = r["content"].as_object() {
                                    @for (mime, c) in content { " " span.muted { (mime) } (schema(doc, &c["schema"], 0)) }
                                }
                            }
                        }
                    }
                }
            } }
        }
    };
    html_response(layout::page(&ctx, title, body))
}

#[cfg(test)]
mod document_tests {
    use super::*;

    /// The built-in document parses: `document()` would otherwise quietly be null and the
    /// reference page empty.
    #[test]
    fn the_built_in_document_parses() {
        let parsed: Result<Value, _> = yaml_serde::from_str(OPENAPI_YAML);
        assert!(parsed.is_ok(), "{:?}", parsed.err());
        let doc = document();
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
        assert!(doc["paths"].as_object().is_some_and(|p| !p.is_empty()));
    }
}
