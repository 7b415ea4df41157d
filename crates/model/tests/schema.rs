//! The committed JSON Schemas under `schema/` are exactly what the types generate.
//! `make schema` (UPDATE_SCHEMA=1) rewrites them after a model change.

use std::path::PathBuf;

use krkn_telemetry_model::schema::all_schemas;

#[test]
fn committed_schemas_are_fresh() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema");
    let update = std::env::var_os("UPDATE_SCHEMA").is_some();
    let mut stale = Vec::new();
    for (name, schema) in all_schemas() {
        let path = dir.join(name);
        let fresh = serde_json::to_string_pretty(&schema).expect("schema serializes") + "\n";
        if update {
            std::fs::write(&path, &fresh).expect("write schema");
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(committed) if committed == fresh => {}
            _ => stale.push(path.display().to_string()),
        }
    }
    assert!(
        stale.is_empty(),
        "stale or missing schema files {stale:?}: run `make schema` and commit the result"
    );
}

#[test]
fn schema_accepts_unknown_fields_and_nulls() {
    let schema = krkn_telemetry_model::schema::telemetry_schema();
    // Newer krkn versions add fields: the schema must not forbid them.
    assert_ne!(
        schema.get("additionalProperties"),
        Some(&serde_json::Value::Bool(false))
    );
    let scenarios = &schema["properties"]["scenarios"];
    let text = scenarios.to_string();
    assert!(
        text.contains("null"),
        "scenarios may be null in the schema: {text}"
    );
    assert!(
        schema["required"].is_null(),
        "no field is required by the schema itself"
    );
}
