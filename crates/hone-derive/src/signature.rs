//! `#[derive(Signature)]`: a struct with `#[input]` / `#[output]` fields → `TypedSignature`.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

use crate::attr::{crate_path, default_crate_path, doc_text, string_value};

const SHAPE_HINT: &str = "e.g. `struct Qa { #[input] question: String, #[output] answer: String }`";

/// Which side of the signature a field is on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Input,
    Output,
}

impl Role {
    fn attr_name(self) -> &'static str {
        match self {
            Role::Input => "input",
            Role::Output => "output",
        }
    }
}

struct SigField {
    name: String,
    ty: syn::Type,
    role: Role,
    desc: Option<String>,
    prefix: Option<String>,
}

/// Expands `#[derive(Signature)]` on `input`.
pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let ident = &input.ident;

    let mut krate = default_crate_path();
    let mut name = ident.to_string();
    let mut instructions: Option<String> = None;
    for attr in &input.attrs {
        if !attr.path().is_ident("hone") {
            continue;
        }
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                krate = crate_path(&string_value(&meta)?)?;
            } else if meta.path.is_ident("name") {
                name = string_value(&meta)?.value();
            } else if meta.path.is_ident("instructions") {
                instructions = Some(string_value(&meta)?.value());
            } else {
                return Err(meta.error(format!(
                    "unknown key `{}` in `#[hone(...)]` on a signature: expected `name = \"...\"`, \
                     `instructions = \"...\"` or `crate = \"...\"`",
                    crate::attr::path_text(&meta.path)
                )));
            }
            Ok(())
        })?;
    }

    let named = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => named,
            Fields::Unnamed(_) => {
                return Err(syn::Error::new(
                    ident.span(),
                    format!(
                        "`#[derive(Signature)]` needs named fields, one per signature field; \
                         `{ident}` is a tuple struct, whose fields have no names ({SHAPE_HINT})"
                    ),
                ));
            }
            Fields::Unit => {
                return Err(syn::Error::new(
                    ident.span(),
                    format!(
                        "`#[derive(Signature)]` needs named fields, one per signature field; \
                         `{ident}` has none ({SHAPE_HINT})"
                    ),
                ));
            }
        },
        Data::Enum(_) => {
            return Err(syn::Error::new(
                ident.span(),
                format!(
                    "`#[derive(Signature)]` works on structs with named fields, not enums \
                     ({SHAPE_HINT}); to use an enum as the type of a field, derive `FieldTyped` \
                     on it"
                ),
            ));
        }
        Data::Union(_) => {
            return Err(syn::Error::new(
                ident.span(),
                format!(
                    "`#[derive(Signature)]` works on structs with named fields, not unions \
                     ({SHAPE_HINT})"
                ),
            ));
        }
    };

    let mut fields = Vec::new();
    for field in &named.named {
        fields.push(read_field(field)?);
    }
    if !fields.iter().any(|f| f.role == Role::Output) {
        return Err(syn::Error::new(
            ident.span(),
            format!(
                "signature `{ident}` has no output field: mark at least one field `#[output]` \
                 (the fields the LM produces)"
            ),
        ));
    }
    let instructions = match instructions {
        Some(text) => Some(text),
        None => doc_text(&input.attrs)?.filter(|t| !t.is_empty()),
    };

    let field_exprs = |role: Role| -> Vec<TokenStream> {
        fields
            .iter()
            .filter(|f| f.role == role)
            .map(|f| {
                let fname = &f.name;
                let ty = &f.ty;
                let desc = f.desc.as_ref().map(|d| quote!(.desc(#d)));
                let prefix = f.prefix.as_ref().map(|p| quote!(.prefix(#p)));
                quote! {
                    #krate::Field::new(#fname, <#ty as #krate::FieldTyped>::field_type())
                        #desc #prefix
                }
            })
            .collect()
    };
    let names = |role: Role| -> Vec<&str> {
        fields
            .iter()
            .filter(|f| f.role == role)
            .map(|f| f.name.as_str())
            .collect()
    };
    let field_idents: Vec<&syn::Ident> = named
        .named
        .iter()
        .filter_map(|f| f.ident.as_ref())
        .collect();
    let inputs = field_exprs(Role::Input);
    let outputs = field_exprs(Role::Output);
    let input_names = names(Role::Input);
    let output_names = names(Role::Output);
    let set_instructions = match instructions {
        Some(text) => quote!(::std::string::String::from(#text)),
        None => quote!(signature.default_instructions()),
    };

    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse_quote!(#krate::FieldTyped));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #krate::TypedSignature for #ident #ty_generics #where_clause {
            const INPUT_FIELDS: &'static [&'static str] = &[#(#input_names),*];
            const OUTPUT_FIELDS: &'static [&'static str] = &[#(#output_names),*];

            fn signature() -> #krate::Signature {
                // The struct may exist only to declare the signature; reading its fields here
                // keeps the compiler from reporting them as never read.
                let _ = |value: &Self| { #(let _ = &value.#field_idents;)* };
                let mut signature = #krate::Signature {
                    name: ::std::string::String::from(#name),
                    instructions: ::std::string::String::new(),
                    inputs: ::std::vec![#(#inputs),*],
                    outputs: ::std::vec![#(#outputs),*],
                };
                signature.instructions = #set_instructions;
                signature
            }
        }
    })
}

fn read_field(field: &syn::Field) -> syn::Result<SigField> {
    let Some(ident) = &field.ident else {
        return Err(syn::Error::new(field.span(), "expected a named field"));
    };
    let name = ident.to_string();
    let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
    let mut role: Option<(Role, Span)> = None;
    let mut desc: Option<String> = None;
    let mut prefix: Option<String> = None;
    for attr in &field.attrs {
        let this = if attr.path().is_ident("input") {
            Role::Input
        } else if attr.path().is_ident("output") {
            Role::Output
        } else if attr.path().is_ident("hone") {
            return Err(syn::Error::new(
                attr.span(),
                format!(
                    "`#[hone(...)]` is not used on signature fields; describe field `{name}` \
                     with `#[input(desc = \"...\", prefix = \"...\")]` or `#[output(...)]`"
                ),
            ));
        } else {
            continue;
        };
        if let Some((earlier, _)) = role {
            let message = if earlier == this {
                format!(
                    "field `{name}` is marked `#[{}]` twice; keep one",
                    this.attr_name()
                )
            } else {
                format!(
                    "field `{name}` is marked both `#[input]` and `#[output]`: a signature field \
                     is either given to the LM (`#[input]`) or produced by it (`#[output]`); \
                     remove one"
                )
            };
            return Err(syn::Error::new(attr.span(), message));
        }
        role = Some((this, attr.span()));
        if let syn::Meta::List(_) = &attr.meta {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("desc") {
                    desc = Some(string_value(&meta)?.value());
                } else if meta.path.is_ident("prefix") {
                    prefix = Some(string_value(&meta)?.value());
                } else {
                    return Err(meta.error(format!(
                        "unknown key `{}` in `#[{}(...)]` on field `{name}`: expected \
                         `desc = \"...\"` or `prefix = \"...\"`",
                        crate::attr::path_text(&meta.path),
                        this.attr_name()
                    )));
                }
                Ok(())
            })?;
        } else if let syn::Meta::NameValue(nv) = &attr.meta {
            return Err(syn::Error::new(
                nv.span(),
                format!(
                    "write `#[{}]` or `#[{}(desc = \"...\")]`, not `#[{} = ...]`",
                    this.attr_name(),
                    this.attr_name(),
                    this.attr_name()
                ),
            ));
        }
    }
    let Some((role, _)) = role else {
        return Err(syn::Error::new(
            ident.span(),
            format!(
                "field `{name}` is neither an input nor an output: mark it `#[input]` (given to \
                 the LM) or `#[output]` (produced by the LM)"
            ),
        ));
    };
    if desc.is_none() {
        desc = doc_text(&field.attrs)?.filter(|t| !t.is_empty());
    }
    Ok(SigField {
        name,
        ty: field.ty.clone(),
        role,
        desc,
        prefix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn error_of(input: TokenStream) -> String {
        match expand(input) {
            Ok(tokens) => panic!("expected an error, got {tokens}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn expands_fields_docs_and_names() {
        let out = expand(quote! {
            /// Answer it.
            #[hone(name = "Qa", crate = "crate::core")]
            struct Answer {
                /// the question
                #[input]
                question: String,
                #[output(desc = "short", prefix = "A:")]
                answer: String,
            }
        })
        .expect("expands")
        .to_string();
        assert!(out.contains("impl crate :: core :: TypedSignature for Answer"));
        assert!(out.contains("\"Qa\""));
        assert!(out.contains("\"Answer it.\""));
        assert!(out.contains(". desc (\"the question\")"));
        assert!(out.contains(". prefix (\"A:\")"));
        assert!(out.contains("const INPUT_FIELDS : & 'static [& 'static str] = & [\"question\"]"));
    }

    #[test]
    fn without_docs_uses_default_instructions() {
        let out = expand(quote! {
            struct S { #[input] a: String, #[output] b: String }
        })
        .expect("expands")
        .to_string();
        assert!(out.contains("signature . default_instructions ()"));
    }

    #[test]
    fn field_without_role_is_an_error() {
        let e = error_of(quote! { struct S { #[input] a: String, b: String } });
        assert_eq!(
            e,
            "field `b` is neither an input nor an output: mark it `#[input]` (given to the LM) \
             or `#[output]` (produced by the LM)"
        );
    }

    #[test]
    fn field_with_both_roles_is_an_error() {
        let e = error_of(quote! { struct S { #[input] #[output] a: String } });
        assert!(
            e.starts_with("field `a` is marked both `#[input]` and `#[output]`"),
            "{e}"
        );
        let e = error_of(quote! { struct S { #[output] #[output] a: String } });
        assert_eq!(e, "field `a` is marked `#[output]` twice; keep one");
    }

    #[test]
    fn tuple_structs_enums_and_unions_are_errors() {
        let e = error_of(quote! { struct S(String, String); });
        assert!(
            e.contains("`S` is a tuple struct, whose fields have no names"),
            "{e}"
        );
        let e = error_of(quote! { struct S; });
        assert!(e.contains("`S` has none"), "{e}");
        let e = error_of(quote! { enum E { A, B } });
        assert!(e.contains("not enums"), "{e}");
        assert!(e.contains("derive `FieldTyped`"), "{e}");
        let e = error_of(quote! { union U { a: u32 } });
        assert!(e.contains("not unions"), "{e}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let e = error_of(
            quote! { struct S { #[input(description = "x")] a: String, #[output] b: String } },
        );
        assert_eq!(
            e,
            "unknown key `description` in `#[input(...)]` on field `a`: expected `desc = \"...\"` \
             or `prefix = \"...\"`"
        );
        let e = error_of(quote! {
            #[hone(title = "x")]
            struct S { #[input] a: String, #[output] b: String }
        });
        assert!(
            e.starts_with("unknown key `title` in `#[hone(...)]` on a signature"),
            "{e}"
        );
        let e =
            error_of(quote! { struct S { #[input] #[hone(x)] a: String, #[output] b: String } });
        assert!(
            e.starts_with("`#[hone(...)]` is not used on signature fields"),
            "{e}"
        );
        let e = error_of(quote! { struct S { #[input(desc = 3)] a: String, #[output] b: String } });
        assert_eq!(e, "expected a string literal, as in `desc = \"...\"`");
        let e = error_of(quote! {
            #[hone(crate = "not a path")]
            struct S { #[input] a: String, #[output] b: String }
        });
        assert!(e.contains("is not a path"), "{e}");
    }

    #[test]
    fn a_signature_needs_an_output() {
        let e = error_of(quote! { struct S { #[input] a: String } });
        assert!(e.starts_with("signature `S` has no output field"), "{e}");
    }
}
