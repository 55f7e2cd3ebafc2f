//! Attributes carried by the context: set on every llm-trace span started under it — the
//! annotated function's and its calls' — such as `gen_ai.conversation.id` or `user.id`.
//!
//! They come from `#[llm_trace(fields(...))]` (the function's arguments) and from
//! [`Scope`] (values known at run time).

use std::future::Future;
use std::sync::Arc;

use opentelemetry::context::FutureExt;
use opentelemetry::{Context, KeyValue, Value};

/// The attributes a context carries for llm-trace spans.
#[derive(Clone, Debug, Default)]
pub(crate) struct ContextAttributes(Arc<Vec<KeyValue>>);

impl ContextAttributes {
    /// The attributes `cx` carries.
    pub(crate) fn of(cx: &Context) -> Option<&[KeyValue]> {
        cx.get::<ContextAttributes>().map(|a| a.0.as_slice())
    }
}

/// `cx` carrying `extra` on top of its own attributes (a key given again is replaced).
pub(crate) fn with_attributes(cx: &Context, extra: Vec<KeyValue>) -> Context {
    let mut merged: Vec<KeyValue> = cx
        .get::<ContextAttributes>()
        .map(|a| a.0.as_ref().clone())
        .unwrap_or_default();
    for attribute in extra {
        merged.retain(|kv| kv.key != attribute.key);
        merged.push(attribute);
    }
    cx.with_value(ContextAttributes(Arc::new(merged)))
}

/// Attributes for every llm-trace span started inside a scope, set at run time.
///
/// ```
/// use llm_trace_core::__private::Scope;
/// use llm_trace_core::opentelemetry::KeyValue;
/// let answer = Scope::new([KeyValue::new("gen_ai.conversation.id", "c-42")]).run(|| {
///     // spans of #[llm_trace] functions and their calls carry gen_ai.conversation.id
///     42
/// });
/// assert_eq!(answer, 42);
/// ```
#[derive(Debug)]
#[must_use = "a scope does nothing until run"]
pub struct Scope {
    cx: Context,
}

impl Scope {
    /// A scope adding `attributes` to those of the current context, which it captures:
    /// make it where the work would run (inside the traced code, not before it).
    pub fn new(attributes: impl IntoIterator<Item = KeyValue>) -> Self {
        let extra: Vec<KeyValue> = attributes.into_iter().collect();
        Scope {
            cx: Context::map_current(|cx| with_attributes(cx, extra)),
        }
    }

    /// Runs `work` inside the scope.
    pub fn run<R>(self, work: impl FnOnce() -> R) -> R {
        let _guard = self.cx.attach();
        work()
    }

    /// Runs `future` inside the scope, on every poll.
    pub fn run_async<F: Future>(self, future: F) -> opentelemetry::context::WithContext<F> {
        future.with_context(self.cx)
    }
}

/// A value an annotated function's argument can give a span attribute
/// (`#[llm_trace(fields(key = argument))]`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a span attribute in `#[llm_trace(fields(...))]`",
    label = "not a string, number or bool",
    note = "fields take arguments of type String, &str, integers, floats, bool, or Option of those; convert other values first"
)]
pub trait FieldValue {
    /// The attribute value; `None` records nothing (an absent `Option`).
    fn field_value(&self) -> Option<Value>;
}

impl FieldValue for str {
    fn field_value(&self) -> Option<Value> {
        Some(Value::from(self.to_owned()))
    }
}

impl FieldValue for String {
    fn field_value(&self) -> Option<Value> {
        Some(Value::from(self.clone()))
    }
}

impl FieldValue for std::borrow::Cow<'_, str> {
    fn field_value(&self) -> Option<Value> {
        Some(Value::from(self.to_string()))
    }
}

impl FieldValue for bool {
    fn field_value(&self) -> Option<Value> {
        Some(Value::Bool(*self))
    }
}

macro_rules! integer_fields {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            fn field_value(&self) -> Option<Value> {
                Some(Value::I64(i64::try_from(*self).unwrap_or(i64::MAX)))
            }
        }
    )*};
}

integer_fields!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl FieldValue for f64 {
    fn field_value(&self) -> Option<Value> {
        Some(Value::F64(*self))
    }
}

impl FieldValue for f32 {
    fn field_value(&self) -> Option<Value> {
        Some(Value::F64(f64::from(*self)))
    }
}

impl<T: FieldValue + ?Sized> FieldValue for &T {
    fn field_value(&self) -> Option<Value> {
        (**self).field_value()
    }
}

impl<T: FieldValue + ?Sized> FieldValue for &mut T {
    fn field_value(&self) -> Option<Value> {
        (**self).field_value()
    }
}

impl<T: FieldValue + ?Sized> FieldValue for Box<T> {
    fn field_value(&self) -> Option<Value> {
        (**self).field_value()
    }
}

impl<T: FieldValue + ?Sized> FieldValue for Arc<T> {
    fn field_value(&self) -> Option<Value> {
        (**self).field_value()
    }
}

impl<T: FieldValue> FieldValue for Option<T> {
    fn field_value(&self) -> Option<Value> {
        self.as_ref().and_then(FieldValue::field_value)
    }
}

/// One field for generated code: `key = value`, or nothing for an absent value.
pub fn field<T: FieldValue + ?Sized>(key: &'static str, value: &T) -> Option<KeyValue> {
    value.field_value().map(|value| KeyValue::new(key, value))
}
