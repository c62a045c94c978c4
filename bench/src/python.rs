//! Running the benchmark's Python side: a script written for it, whose one
//! JSON object of figures is read back.

use std::process::Command;

use serde_json::Value;

/// Runs a Python `script` with `args` and reads the one JSON object it
/// prints; a message saying why not, for the table, otherwise.
pub(crate) fn run_python(script: &str, args: &[String]) -> Result<Value, String> {
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .map_err(|e| format!("python3 could not be run ({e}): the Python side is skipped"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "python3 failed: {}",
            stderr.lines().last().unwrap_or("no message")
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("python3 printed no JSON: {e}"))
}

/// A section's Python side: `script` run with `args` if `wanted`, else why
/// not, for the table.
pub(crate) fn side(wanted: bool, script: &str, args: &[String]) -> Result<Value, String> {
    if wanted {
        run_python(script, args)
    } else {
        Err("--no-python: the Python side is skipped".to_owned())
    }
}

/// A figure of a Python run, by its JSON pointer.
pub(crate) fn figure(python: &Result<Value, String>, pointer: &str) -> Option<f64> {
    python
        .as_ref()
        .ok()
        .and_then(|v| v.pointer(pointer))
        .and_then(Value::as_f64)
}
