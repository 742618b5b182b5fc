//! `#[derive(FieldTyped)]`: a struct → a model type; an enum of unit variants → a `Literal`, or
//! with `#[hone(enum_class)]` a named enum (a Python `enum.Enum` class).

use proc_macro2::{TokenStream, TokenTree};
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DataEnum, DeriveInput, Fields, FieldsNamed, Token};

use crate::attr::{
    SerdeDefault, crate_path, default_crate_path, doc_text, path_text, serde_attrs, string_value,
};

/// Expands `#[derive(FieldTyped)]` on `input`.
pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let ident = &input.ident;
    let is_struct = matches!(input.data, Data::Struct(_));

    let mut krate = default_crate_path();
    let mut name = ident.to_string();
    let mut enum_class = false;
    let mut name_given = false;
    for attr in &input.attrs {
        if !attr.path().is_ident("hone") {
            continue;
        }
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                krate = crate_path(&string_value(&meta)?)?;
            } else if meta.path.is_ident("name") {
                name = string_value(&meta)?.value();
                name_given = true;
            } else if meta.path.is_ident("enum_class") && !is_struct {
                enum_class = true;
            } else {
                let expected = if is_struct {
                    "`name = \"...\"` or `crate = \"...\"`"
                } else {
                    "`enum_class`, `name = \"...\"` or `crate = \"...\"` (rename variants with `#[serde(rename = \"...\")]`)"
                };
                return Err(meta.error(format!(
                    "unknown key `{}` in `#[hone(...)]` on `{ident}`: expected {expected}",
                    path_text(&meta.path)
                )));
            }
            Ok(())
        })?;
    }
    if name_given && !is_struct && !enum_class {
        return Err(syn::Error::new(
            ident.span(),
            format!(
                "`#[hone(name = \"...\")]` on enum `{ident}` names an enum class: add \
                 `#[hone(enum_class)]`, or drop the name (a `Literal[...]` has none)"
            ),
        ));
    }
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            format!(
                "`#[derive(FieldTyped)]` does not support generic types: `{ident}` would be one \
                 model name for many shapes; derive it on a concrete type instead"
            ),
        ));
    }

    let body = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => model_body(&input, named, &krate, &name)?,
            Fields::Unnamed(_) | Fields::Unit => {
                return Err(syn::Error::new(
                    ident.span(),
                    format!(
                        "`#[derive(FieldTyped)]` on a struct needs named fields (it becomes a \
                         JSON object with those keys); `{ident}` has none, e.g. write \
                         `struct {ident} {{ name: String }}`"
                    ),
                ));
            }
        },
        Data::Enum(e) => literal_body(&input, e, &krate, enum_class.then_some(name.as_str()))?,
        Data::Union(_) => {
            return Err(syn::Error::new(
                ident.span(),
                "`#[derive(FieldTyped)]` works on structs with named fields and on enums of unit \
                 variants, not unions",
            ));
        }
    };

    Ok(quote! {
        #[automatically_derived]
        impl #krate::FieldTyped for #ident {
            fn field_type() -> #krate::FieldType {
                #body
            }
        }
    })
}

fn model_body(
    input: &DeriveInput,
    named: &FieldsNamed,
    krate: &syn::Path,
    name: &str,
) -> syn::Result<TokenStream> {
    let ident = &input.ident;
    let container = serde_attrs(&input.attrs)?;
    if let Some(span) = container.flatten {
        return Err(flatten_error(span));
    }
    let json = quote!(#krate::typed::__private::serde_json);
    let description = option_string(doc_text(&input.attrs)?.filter(|d| !d.is_empty()));
    let struct_default = !matches!(container.default, SerdeDefault::None);

    let mut fields = Vec::new();
    for field in &named.named {
        let Some(fident) = &field.ident else {
            continue;
        };
        let serde = serde_attrs(&field.attrs)?;
        if serde.skip {
            continue;
        }
        if let Some(span) = serde.flatten {
            return Err(flatten_error(span));
        }
        let rust_name = fident.to_string();
        let rust_name = rust_name
            .strip_prefix("r#")
            .unwrap_or(&rust_name)
            .to_owned();
        if mentions(&field.ty, &ident.to_string()) {
            return Err(syn::Error::new(
                field.ty.span(),
                format!(
                    "field `{rust_name}` contains `{ident}` itself: recursive types cannot be \
                     described as a hone field type (a field type is a finite tree); give the \
                     nested value its own, non-recursive type"
                ),
            ));
        }
        let json_name = match (&serde.rename, container.rename_all) {
            (Some(r), _) => r.clone(),
            (None, Some(rule)) => rule.apply_to_field(&rust_name),
            (None, None) => rust_name.clone(),
        };

        let mut desc: Option<String> = None;
        let mut explicit_default: Option<TokenStream> = None;
        for attr in &field.attrs {
            if !attr.path().is_ident("hone") {
                continue;
            }
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("desc") {
                    desc = Some(string_value(&meta)?.value());
                } else if meta.path.is_ident("default") {
                    let value = meta.value()?;
                    let mut tokens = TokenStream::new();
                    while !value.is_empty() && !value.peek(Token![,]) {
                        tokens.extend([value.parse::<TokenTree>()?]);
                    }
                    if tokens.is_empty() {
                        return Err(meta.error(
                            "`default = ` needs a JSON value, e.g. `default = []` or \
                             `default = \"none\"`",
                        ));
                    }
                    explicit_default = Some(tokens);
                } else {
                    return Err(meta.error(format!(
                        "unknown key `{}` in `#[hone(...)]` on field `{rust_name}`: expected \
                         `desc = \"...\"` or `default = <JSON value>`",
                        path_text(&meta.path)
                    )));
                }
                Ok(())
            })?;
        }
        if desc.is_none() {
            desc = doc_text(&field.attrs)?.filter(|d| !d.is_empty());
        }
        let ty = &field.ty;
        let default = if let Some(tokens) = explicit_default {
            quote!(::core::option::Option::Some(#json::json!(#tokens)))
        } else {
            match &serde.default {
                SerdeDefault::Default => quote!(
                    #json::to_value(<#ty as ::core::default::Default>::default()).ok()
                ),
                SerdeDefault::Path(path) => quote!(#json::to_value(#path()).ok()),
                SerdeDefault::None if struct_default => quote!(
                    struct_default.as_ref().and_then(|d| d.get(#json_name)).cloned()
                ),
                SerdeDefault::None if is_option(ty) => {
                    quote!(::core::option::Option::Some(#json::Value::Null))
                }
                SerdeDefault::None => quote!(::core::option::Option::None),
            }
        };
        let desc = option_string(desc);
        fields.push(quote! {
            #krate::ModelField {
                name: ::std::string::String::from(#json_name),
                ty: <#ty as #krate::FieldTyped>::field_type(),
                default: #default,
                description: #desc,
            }
        });
    }

    let struct_default = struct_default.then(|| {
        let value = match &container.default {
            SerdeDefault::Path(path) => quote!(#path()),
            _ => quote!(<Self as ::core::default::Default>::default()),
        };
        quote!(let struct_default = #json::to_value(#value).ok();)
    });
    Ok(quote! {
        #struct_default
        #krate::FieldType::model(#krate::ModelType {
            name: ::std::string::String::from(#name),
            description: #description,
            fields: ::std::vec![#(#fields),*],
        })
    })
}

/// A `Literal` of the variants' serde names, or with `class_name` a named enum whose members
/// are the variants (Rust name → serde name).
fn literal_body(
    input: &DeriveInput,
    data: &DataEnum,
    krate: &syn::Path,
    class_name: Option<&str>,
) -> syn::Result<TokenStream> {
    let ident = &input.ident;
    let container = serde_attrs(&input.attrs)?;
    let mut values = Vec::new();
    let mut names = Vec::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            return Err(syn::Error::new(
                variant.span(),
                format!(
                    "variant `{}` carries data: `#[derive(FieldTyped)]` on an enum makes a \
                     `Literal[...]` of the variant names, so every variant must be a unit variant \
                     (like `{}`); for structured values derive it on a struct",
                    variant.ident, variant.ident
                ),
            ));
        }
        if let Some(attr) = variant.attrs.iter().find(|a| a.path().is_ident("hone")) {
            return Err(syn::Error::new(
                attr.span(),
                format!(
                    "`#[hone(...)]` is not used on enum variants; rename variant `{}` with \
                     `#[serde(rename = \"...\")]`",
                    variant.ident
                ),
            ));
        }
        let serde = serde_attrs(&variant.attrs)?;
        if serde.skip {
            continue;
        }
        let rust_name = variant.ident.to_string();
        let rust_name = rust_name
            .strip_prefix("r#")
            .unwrap_or(&rust_name)
            .to_owned();
        names.push(rust_name.clone());
        values.push(match (serde.rename, container.rename_all) {
            (Some(r), _) => r,
            (None, Some(rule)) => rule.apply_to_variant(&rust_name),
            (None, None) => rust_name,
        });
    }
    if values.is_empty() {
        return Err(syn::Error::new(
            ident.span(),
            format!(
                "enum `{ident}` has no (unskipped) variants, so no value would be allowed; add \
                 the allowed values as unit variants"
            ),
        ));
    }
    let Some(class_name) = class_name else {
        return Ok(quote! {
            #krate::FieldType::literal([#(#values),*])
        });
    };
    let description = option_string(doc_text(&input.attrs)?.filter(|d| !d.is_empty()));
    Ok(quote! {
        #krate::FieldType::enumeration(#krate::EnumType {
            name: ::std::string::String::from(#class_name),
            description: #description,
            members: ::std::vec![#(#krate::EnumMember {
                name: ::std::string::String::from(#names),
                value: #krate::typed::__private::serde_json::Value::from(#values),
            }),*],
        })
    })
}

fn flatten_error(span: proc_macro2::Span) -> syn::Error {
    syn::Error::new(
        span,
        "`#[serde(flatten)]` is not supported by `#[derive(FieldTyped)]`: the model's fields must \
         be listed in the struct itself",
    )
}

fn option_string(text: Option<String>) -> TokenStream {
    match text {
        Some(t) => quote!(::core::option::Option::Some(::std::string::String::from(#t))),
        None => quote!(::core::option::Option::None),
    }
}

/// Whether the type is written as `Option<...>` (serde lets such fields be absent).
fn is_option(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Option" && !s.arguments.is_empty()),
        syn::Type::Group(g) => is_option(&g.elem),
        syn::Type::Paren(p) => is_option(&p.elem),
        _ => false,
    }
}

/// Whether the type's tokens mention `name` or `Self`.
fn mentions(ty: &syn::Type, name: &str) -> bool {
    fn walk(tokens: TokenStream, name: &str) -> bool {
        tokens.into_iter().any(|tt| match tt {
            TokenTree::Ident(i) => i == name || i == "Self",
            TokenTree::Group(g) => walk(g.stream(), name),
            _ => false,
        })
    }
    walk(quote!(#ty), name)
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
    fn struct_expands_to_a_model() {
        let out = expand(quote! {
            /// A person.
            #[serde(rename_all = "camelCase")]
            struct Person {
                full_name: String,
                /// Age in years.
                age: Option<u32>,
                #[serde(default)]
                emails: Vec<String>,
                #[hone(default = {"a": [1, 2]})]
                extra: serde_json::Value,
                #[serde(skip)]
                cache: u8,
            }
        })
        .expect("expands")
        .to_string();
        assert!(out.contains("\"fullName\""), "{out}");
        assert!(out.contains("\"A person.\""), "{out}");
        assert!(out.contains("\"Age in years.\""), "{out}");
        assert!(out.contains("Value :: Null"), "{out}");
        assert!(out.contains("json ! ({ \"a\" : [1 , 2] })"), "{out}");
        assert!(!out.contains("cache"), "{out}");
    }

    #[test]
    fn enum_uses_serde_names() {
        let out = expand(quote! {
            #[serde(rename_all = "snake_case")]
            enum Team { BillingOps, #[serde(rename = "TECH")] Tech, #[serde(skip)] Hidden }
        })
        .expect("expands")
        .to_string();
        assert!(
            out.contains("FieldType :: literal ([\"billing_ops\" , \"TECH\"])"),
            "{out}"
        );
    }

    #[test]
    fn errors_say_what_to_do() {
        let e = error_of(quote! { enum E { A, B(String) } });
        assert!(e.starts_with("variant `B` carries data"), "{e}");
        let e = error_of(quote! { struct P(String); });
        assert!(e.contains("needs named fields"), "{e}");
        let e = error_of(quote! { struct Node { children: Vec<Node> } });
        assert!(
            e.starts_with("field `children` contains `Node` itself"),
            "{e}"
        );
        let e = error_of(quote! { struct G<T> { x: T } });
        assert!(e.contains("does not support generic types"), "{e}");
        let e = error_of(quote! { struct P { #[hone(description = "x")] a: String } });
        assert!(
            e.starts_with("unknown key `description` in `#[hone(...)]` on field `a`"),
            "{e}"
        );
        let e = error_of(quote! { #[hone(name = "X")] enum E { A } });
        assert!(
            e.starts_with("`#[hone(name = \"...\")]` on enum `E` names an enum class"),
            "{e}"
        );
        let e = error_of(quote! { enum E { #[serde(skip)] A } });
        assert!(e.contains("has no (unskipped) variants"), "{e}");
        let e = error_of(quote! { struct P { #[serde(flatten)] inner: Q } });
        assert!(e.contains("`#[serde(flatten)]` is not supported"), "{e}");
        let e = error_of(quote! { #[serde(rename_all = "Title Case")] enum E { A } });
        assert!(e.starts_with("unknown rename rule"), "{e}");
    }
}
