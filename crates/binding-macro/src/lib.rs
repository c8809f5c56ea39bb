//! `#[export]`: one source for both JavaScript bindings of quire-core.
//!
//! The binding crate (`crates/binding`) writes each exported struct, method and function once,
//! in plain Rust over core types; this attribute emits, next to the written item, one wrapper
//! per target: `#[napi]` for the native addon and `#[wasm_bindgen]` for wasm32, each under its
//! `cfg(target_arch)`. The written body is compiled once, as a private item named `__<name>`;
//! the wrappers only convert arguments, results and errors. Contract of a written signature:
//!
//! - arguments: scalars, `String`, `Vec<String>`, references to exported structs, and the array
//!   forms `&[T]`, `Option<&[T]>` and `Vec<T>` (an owned copy) for `T` in `f32`, `u32`, `u8`.
//!   No `&mut [T]`: a JS typed array may alias another argument or be changed by JS code the
//!   call runs, so results come back as new arrays (`Vec<T>`), and the wrappers hold no `unsafe`;
//! - results: `T` or `Result<T>` (`quire_core::Result`), where `Vec<f32|u32|u8>` and
//!   `Option<Vec<..>>` become typed arrays on both targets. On Node the array is copied into
//!   memory V8 owns (the wrapper takes the `Env`): an array over Rust memory is freed by a
//!   finalizer that Node defers to the event loop, so a synchronous loop of calls would hold every
//!   result until it ends;
//! - errors map through `crate::error::to_napi` / `crate::error::to_js` (message `[CODE] text`);
//! - JS names are camelCase on both targets; a method named `new` is the constructor, and a
//!   static method returning the struct itself is a factory;
//! - `#[export(node)]` on a method emits it on the native addon only, as written (its `free()`:
//!   wasm-bindgen generates its own).
use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{
    parse_macro_input, parse_quote, Attribute, FnArg, GenericArgument, ImplItem, ImplItemFn, Item, ItemFn, ItemImpl, Pat, PathArguments,
    ReturnType, Signature, Type, Visibility,
};

#[proc_macro_attribute]
pub fn export(_attr: TokenStream, item: TokenStream) -> TokenStream {
    let out = match parse_macro_input!(item as Item) {
        Item::Struct(s) => quote! {
            #[cfg_attr(not(target_arch = "wasm32"), napi_derive::napi)]
            #[cfg_attr(target_arch = "wasm32", wasm_bindgen::prelude::wasm_bindgen)]
            #s
        },
        Item::Impl(imp) => export_impl(imp),
        Item::Fn(f) => export_fn(f),
        other => syn::Error::new_spanned(other, "#[export] applies to a struct, an impl block or a function").to_compile_error(),
    };
    out.into()
}

/// The two targets a wrapper is written for.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    Node,
    Wasm,
}

fn export_impl(mut imp: ItemImpl) -> Tokens {
    let self_name = match &*imp.self_ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default(),
        _ => String::new(),
    };
    let (mut bodies, mut node, mut wasm) = (Vec::new(), Vec::new(), Vec::new());
    for item in std::mem::take(&mut imp.items) {
        let ImplItem::Fn(mut f) = item else {
            return syn::Error::new_spanned(item, "#[export] impl blocks hold methods only").to_compile_error();
        };
        if take_node_only(&mut f.attrs) {
            f.attrs.push(parse_quote!(#[napi]));
            node.push(quote!(#f));
            continue;
        }
        let factory = f.sig.receiver().is_none() && returns_named(&f.sig, &self_name);
        node.push(wrapper(&f.attrs, &f.sig, Target::Node, factory, true));
        wasm.push(wrapper(&f.attrs, &f.sig, Target::Wasm, factory, true));
        let ImplItemFn { attrs, sig, block, .. } = f;
        let sig = Signature { ident: private_name(&sig.ident), ..sig };
        let attrs = lint_attrs(&attrs);
        bodies.push(quote!(#(#attrs)* #sig #block));
    }
    let self_ty = &imp.self_ty;
    quote! {
        impl #self_ty { #(#bodies)* }
        #[cfg(not(target_arch = "wasm32"))]
        #[napi_derive::napi]
        impl #self_ty { #(#node)* }
        #[cfg(target_arch = "wasm32")]
        #[wasm_bindgen::prelude::wasm_bindgen]
        impl #self_ty { #(#wasm)* }
    }
}

fn export_fn(f: ItemFn) -> Tokens {
    let node = wrapper(&f.attrs, &f.sig, Target::Node, false, false);
    let wasm = wrapper(&f.attrs, &f.sig, Target::Wasm, false, false);
    let ItemFn { attrs, sig, block, .. } = f;
    let sig = Signature { ident: private_name(&sig.ident), ..sig };
    let attrs = lint_attrs(&attrs);
    quote! {
        #(#attrs)* #sig #block
        #[cfg(not(target_arch = "wasm32"))]
        #node
        #[cfg(target_arch = "wasm32")]
        #wasm
    }
}

/// Removes `#[export(node)]` from a method's attributes; true when it was there.
fn take_node_only(attrs: &mut Vec<Attribute>) -> bool {
    let before = attrs.len();
    attrs.retain(|a| !(a.path().is_ident("export") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "node")));
    attrs.len() != before
}

/// Doc comments and lint levels: carried to the wrappers (docs reach the generated typings).
fn kept_attrs(attrs: &[Attribute]) -> Vec<&Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("doc") || a.path().is_ident("allow")).collect()
}

fn lint_attrs(attrs: &[Attribute]) -> Vec<&Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("allow")).collect()
}

fn private_name(name: &syn::Ident) -> syn::Ident {
    format_ident!("__{}", name)
}

fn camel_case(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// How an argument crosses the boundary.
enum Arg {
    /// `&[T]`: a typed array read in place (node) or copied in (wasm).
    Slice(syn::Ident),
    /// `Option<&[T]>`: a typed array, or null/undefined.
    OptionSlice(syn::Ident),
    /// `Vec<T>`: an owned copy of a typed array.
    Owned(syn::Ident),
    /// Anything else passes unchanged.
    Plain,
}

/// `f32`/`u32`/`u8` when `ty` is one of them.
fn array_elem(ty: &Type) -> Option<syn::Ident> {
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            let id = p.path.get_ident()?;
            ["f32", "u32", "u8"].contains(&id.to_string().as_str()).then(|| id.clone())
        }
        _ => None,
    }
}

/// The single type argument of `Name<T>` when the path's last segment is `name`.
fn generic_of<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    if seg.ident != name {
        return None;
    }
    match &seg.arguments {
        PathArguments::AngleBracketed(a) if a.args.len() == 1 => match &a.args[0] {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

/// `T` of `&[T]` (a shared slice of an array element type).
fn slice_elem(ty: &Type) -> Option<syn::Ident> {
    match ty {
        Type::Reference(r) if r.mutability.is_none() => match &*r.elem {
            Type::Slice(s) => array_elem(&s.elem),
            _ => None,
        },
        _ => None,
    }
}

fn classify(ty: &Type) -> Arg {
    if let Some(e) = slice_elem(ty) {
        Arg::Slice(e)
    } else if let Some(e) = generic_of(ty, "Option").and_then(slice_elem) {
        Arg::OptionSlice(e)
    } else if let Some(e) = generic_of(ty, "Vec").and_then(array_elem) {
        Arg::Owned(e)
    } else {
        Arg::Plain
    }
}

/// napi's typed-array type for an element type.
fn typed_array(elem: &syn::Ident) -> Tokens {
    match elem.to_string().as_str() {
        "f32" => quote!(napi::bindgen_prelude::Float32Array),
        "u32" => quote!(napi::bindgen_prelude::Uint32Array),
        _ => quote!(napi::bindgen_prelude::Uint8Array),
    }
}

/// True when the (possibly `Result`-wrapped) return type is the struct `name` or `Self`.
fn returns_named(sig: &Signature, name: &str) -> bool {
    let ReturnType::Type(_, ty) = &sig.output else { return false };
    let ty = generic_of(ty, "Result").unwrap_or(ty);
    matches!(ty, Type::Path(p) if p.path.is_ident(name) || p.path.is_ident("Self"))
}

/// napi's typed array in V8's memory (borrowing the call's `env`) for an element type.
fn typed_slice(elem: &syn::Ident) -> Tokens {
    match elem.to_string().as_str() {
        "f32" => quote!(napi::bindgen_prelude::Float32ArraySlice),
        "u32" => quote!(napi::bindgen_prelude::Uint32ArraySlice),
        _ => quote!(napi::bindgen_prelude::Uint8ArraySlice),
    }
}

/// The wrapper's result type and, when it differs from the written one, the function converting
/// the written result into it (on Node a fallible copy into V8's memory, using the `env` argument).
fn convert_result(ty: &Type, target: Target) -> (Tokens, Option<Tokens>) {
    if target == Target::Node {
        if let Some(e) = generic_of(ty, "Vec").and_then(array_elem) {
            let ts = typed_slice(&e);
            return (quote!(#ts<'env>), Some(quote!(|v: Vec<#e>| #ts::copy_from(env, v))));
        }
        if let Some(e) = generic_of(ty, "Option").and_then(|t| generic_of(t, "Vec")).and_then(array_elem) {
            let ts = typed_slice(&e);
            return (quote!(Option<#ts<'env>>), Some(quote!(|v: Option<Vec<#e>>| v.map(|v| #ts::copy_from(env, v)).transpose())));
        }
    }
    (quote!(#ty), None)
}

/// A target's exported wrapper of the written function `sig`.
fn wrapper(attrs: &[Attribute], sig: &Signature, target: Target, factory: bool, method: bool) -> Tokens {
    let name = &sig.ident;
    let inner = private_name(name);
    let mut params = Vec::new();
    let mut args = Vec::new();
    let mut receiver = None;
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => receiver = Some(r.clone()),
            FnArg::Typed(pt) => {
                let Pat::Ident(pi) = &*pt.pat else {
                    return syn::Error::new_spanned(&pt.pat, "#[export] arguments must be plain names").to_compile_error();
                };
                let id = &pi.ident;
                let ty = &pt.ty;
                if matches!(&**ty, Type::Reference(r) if r.mutability.is_some() && matches!(&*r.elem, Type::Slice(_))) {
                    return syn::Error::new_spanned(ty, "#[export] takes no `&mut [T]` (the array may alias): return a `Vec<T>` instead")
                        .to_compile_error();
                }
                let (param, arg) = match (classify(ty), target) {
                    (Arg::Plain, _) => (quote!(#id: #ty), quote!(#id)),
                    (Arg::Slice(e), Target::Node) => {
                        let ta = typed_array(&e);
                        (quote!(#id: #ta), quote!(&#id))
                    }
                    (Arg::OptionSlice(e), Target::Node) => {
                        let ta = typed_array(&e);
                        (quote!(#id: Option<#ta>), quote!(#id.as_deref()))
                    }
                    (Arg::Owned(e), Target::Node) => {
                        let ta = typed_array(&e);
                        (quote!(#id: #ta), quote!(#id.to_vec()))
                    }
                    (Arg::OptionSlice(e), Target::Wasm) => (quote!(#id: Option<Vec<#e>>), quote!(#id.as_deref())),
                    (Arg::Slice(_) | Arg::Owned(_), Target::Wasm) => (quote!(#id: #ty), quote!(#id)),
                };
                params.push(param);
                args.push(arg);
            }
        }
    }
    let call = match (&receiver, method) {
        (Some(_), _) => quote!(self.#inner(#(#args),*)),
        (None, true) => quote!(Self::#inner(#(#args),*)),
        (None, false) => quote!(#inner(#(#args),*)),
    };
    // A converted (copied) result needs the call's `env`, as an argument napi fills in.
    let mut copies = false;
    let (output, body) = match &sig.output {
        ReturnType::Default => (quote!(), call),
        ReturnType::Type(_, ty) => match generic_of(ty, "Result") {
            Some(ok) => {
                let (ok_ty, conv) = convert_result(ok, target);
                copies = conv.is_some();
                match target {
                    Target::Node => {
                        let call = quote!(#call.map_err(crate::error::to_napi));
                        let call = match conv {
                            Some(f) => quote!(#call.and_then(#f)),
                            None => call,
                        };
                        (quote!(-> napi::Result<#ok_ty>), call)
                    }
                    Target::Wasm => {
                        (quote!(-> ::core::result::Result<#ok_ty, wasm_bindgen::JsError>), quote!(#call.map_err(crate::error::to_js)))
                    }
                }
            }
            None => match convert_result(ty, target) {
                (ty, Some(f)) => {
                    copies = true;
                    (quote!(-> napi::Result<#ty>), quote!((#f)(#call)))
                }
                (ty, None) => (quote!(-> #ty), call),
            },
        },
    };
    let (generics, env) = if copies { (quote!(<'env>), Some(quote!(env: &'env napi::Env,))) } else { (quote!(), None) };
    let js_name = camel_case(&name.to_string());
    // Inside an exported impl the outer macro reads its own bare attribute; a free function
    // carries the full path.
    let export_attr = match target {
        Target::Node if !method => quote!(#[napi_derive::napi]),
        Target::Node if name == "new" => quote!(#[napi(constructor)]),
        Target::Node if factory => quote!(#[napi(factory)]),
        Target::Node => quote!(#[napi]),
        Target::Wasm if method && name == "new" => quote!(#[wasm_bindgen(constructor)]),
        Target::Wasm if method && *name != js_name => quote!(#[wasm_bindgen(js_name = #js_name)]),
        Target::Wasm if method => quote!(),
        Target::Wasm if *name != js_name => quote!(#[wasm_bindgen::prelude::wasm_bindgen(js_name = #js_name)]),
        Target::Wasm => quote!(#[wasm_bindgen::prelude::wasm_bindgen]),
    };
    let kept = kept_attrs(attrs);
    let receiver = receiver.map(|r| quote!(#r,));
    let vis: Visibility = parse_quote!(pub);
    quote! {
        #(#kept)*
        #export_attr
        #vis fn #name #generics(#receiver #env #(#params),*) #output { #body }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_names_are_camel_case() {
        assert_eq!(camel_case("matmul_into"), "matmulInto");
        assert_eq!(camel_case("fma_peak_probe"), "fmaPeakProbe");
        assert_eq!(camel_case("batch"), "batch");
    }

    #[test]
    fn arrays_are_classified_by_their_written_form() {
        let kind = |t: Type| match classify(&t) {
            Arg::Slice(e) => format!("slice {e}"),
            Arg::OptionSlice(e) => format!("option {e}"),
            Arg::Owned(e) => format!("owned {e}"),
            Arg::Plain => "plain".to_string(),
        };
        assert_eq!(kind(parse_quote!(&[f32])), "slice f32");
        assert_eq!(kind(parse_quote!(&mut [f32])), "plain");
        assert_eq!(kind(parse_quote!(Option<&[u8]>)), "option u8");
        assert_eq!(kind(parse_quote!(Vec<u32>)), "owned u32");
        assert_eq!(kind(parse_quote!(Vec<String>)), "plain");
        assert_eq!(kind(parse_quote!(&[f64])), "plain");
    }

    /// The emitted code of one exported function, as a string of tokens.
    fn expand_fn(f: ItemFn) -> String {
        export_fn(f).to_string()
    }

    #[test]
    fn a_function_expands_to_a_private_body_and_one_wrapper_per_target() {
        let out = expand_fn(parse_quote! {
            /// Doc.
            pub fn matmul(x: &[f32], batch: u32, mask: Option<&[u8]>) -> Result<Vec<f32>> { body(x, batch, mask) }
        });
        for want in [
            "fn __matmul (x : & [f32] , batch : u32 , mask : Option < & [u8] >)",
            "# [cfg (not (target_arch = \"wasm32\"))] # [doc = r\" Doc.\"] # [napi_derive :: napi] pub fn matmul < 'env >",
            "(env : & 'env napi :: Env , x : napi :: bindgen_prelude :: Float32Array , batch : u32 , mask : Option < napi :: bindgen_prelude :: Uint8Array >)",
            "-> napi :: Result < napi :: bindgen_prelude :: Float32ArraySlice < 'env > >",
            "__matmul (& x , batch , mask . as_deref ()) . map_err (crate :: error :: to_napi)",
            ". and_then (| v : Vec < f32 > | napi :: bindgen_prelude :: Float32ArraySlice :: copy_from (env , v))",
            "# [cfg (target_arch = \"wasm32\")] # [doc = r\" Doc.\"] # [wasm_bindgen :: prelude :: wasm_bindgen] pub fn matmul",
            "(x : & [f32] , batch : u32 , mask : Option < Vec < u8 >>)",
            "-> :: core :: result :: Result < Vec < f32 > , wasm_bindgen :: JsError >",
            "__matmul (x , batch , mask . as_deref ()) . map_err (crate :: error :: to_js)",
        ] {
            assert!(out.contains(want), "missing `{want}` in\n{out}");
        }
        assert!(!out.contains("unsafe"), "the expansion holds unsafe code:\n{out}");
    }

    #[test]
    fn methods_expand_without_unsafe_and_mutable_slices_are_refused() {
        let imp: ItemImpl = parse_quote! {
            impl QuantizedMatrix {
                pub fn from_bytes(bytes: &[u8]) -> Result<QuantizedMatrix> { todo!() }
                pub fn matmul(&self, x: &[f32], batch: u32, kernel: String) -> Result<Vec<f32>> { todo!() }
                #[export(node)]
                pub fn free(&mut self) {}
            }
        };
        let out = export_impl(imp).to_string();
        assert!(out.contains("# [napi (factory)] pub fn from_bytes"), "{out}");
        assert!(out.contains("# [wasm_bindgen (js_name = \"fromBytes\")] pub fn from_bytes"), "{out}");
        assert!(out.contains("self . __matmul (& x , batch , kernel)"), "{out}");
        assert!(out.contains("# [napi] pub fn free (& mut self)"), "{out}");
        assert!(!out.contains("unsafe"), "{out}");
        let refused = expand_fn(parse_quote!(
            pub fn fill(y: &mut [f32]) {}
        ));
        assert!(refused.contains("compile_error") && refused.contains("takes no `&mut [T]`"), "{refused}");
    }

    #[test]
    fn a_static_method_returning_its_struct_is_a_factory() {
        let sig: Signature = parse_quote!(fn from_bytes(bytes: &[u8]) -> Result<LstmModel>);
        assert!(returns_named(&sig, "LstmModel"));
        assert!(!returns_named(&sig, "InferenceEngine"));
    }
}
