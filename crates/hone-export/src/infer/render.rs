//! A signature back to DSPy's string form, for `--signature` suggestions and TOML stages.

use hone_core::{Field, FieldType, Signature};

/// A `--signature` flag for a predictor, quoted for a POSIX shell.
pub fn signature_flag(name: &str, sig: &Signature) -> String {
    let arg = format!("{name}={}", signature_line(sig));
    if arg.contains('\'') {
        let mut quoted = String::with_capacity(arg.len() + 2);
        for c in arg.chars() {
            if matches!(c, '"' | '\\' | '$' | '`') {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        format!("--signature \"{quoted}\"")
    } else {
        format!("--signature '{arg}'")
    }
}

/// DSPy's string form of a signature with the types the structure declares:
/// `context, question -> answer: list[str]`, for `--signature` suggestions and TOML stages.
pub fn signature_line(sig: &Signature) -> String {
    let side = |fs: &[Field]| {
        fs.iter()
            .map(|f| {
                if f.type_declared && f.ty != FieldType::Str {
                    format!("{}: {}", f.name, f.ty.python_name())
                } else {
                    f.name.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("{} -> {}", side(&sig.inputs), side(&sig.outputs))
}
