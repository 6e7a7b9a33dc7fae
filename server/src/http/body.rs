//! JSON request bodies. axum's `Json` reads them (content type, size, syntax; `error.rs` gives
//! its rejections their statuses), then the handler's type is decoded from the JSON value, in
//! which a whole number written with a fraction or an exponent (`5.0`, `1e2`) is the integer
//! it is: JSON Schema, and so the API document, counts it as one. Nothing else changes: an
//! object's repeated key is refused, as the handlers' types refuse it.

use std::fmt;

use axum::Json;
use axum::extract::{FromRequest, Request};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::http::error::ApiError;

/// The decoded body of a REST request.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(Integral(value)) = Json::<Integral>::from_request(req, state).await?;
        serde_path_to_error::deserialize(value)
            .map(Self)
            .map_err(ApiError::Decode)
    }
}

/// Any JSON value, with whole numbers as integers.
struct Integral(Value);

impl<'de> Deserialize<'de> for Integral {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IntegralVisitor).map(Self)
    }
}

struct IntegralVisitor;

impl<'de> Visitor<'de> for IntegralVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // `i64::MAX as f64` is 2^63, just past the last i64.
        if v.fract() == 0.0 && (i64::MIN as f64..i64::MAX as f64).contains(&v) {
            Ok((v as i64).into())
        } else {
            // JSON has no NaN or infinity: every f64 it holds is a `Number`.
            Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
        }
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Integral(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            let Integral(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use natter::protocol::{CreateConversationRequest, MarkReadRequest, Seq, UserId};

    use super::*;

    fn decode<T: DeserializeOwned>(json: &str) -> Result<T, String> {
        let Integral(value) = serde_json::from_str(json).map_err(|e| e.to_string())?;
        serde_path_to_error::deserialize(value).map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_are_integers_however_they_are_written() {
        for json in [r#"{"seq": 7}"#, r#"{"seq": 7.0}"#, r#"{"seq": 0.7e1}"#] {
            let read: MarkReadRequest = decode(json).unwrap();
            assert_eq!(read.seq, Seq(7), "{json}");
        }
        let target: CreateConversationRequest = decode(r#"{"user2_id": 1e2}"#).unwrap();
        assert_eq!(target.user2_id, Some(UserId(100)));
    }

    #[test]
    fn everything_else_is_refused_as_before() {
        for (json, error) in [
            (r#"{"seq": 7.5}"#, "seq: invalid type: floating point `7.5`"),
            (r#"{"seq": 1e19}"#, "seq: invalid type: floating point"),
            (
                r#"{"seq": 18446744073709551615}"#,
                "seq: invalid value: integer",
            ),
            (r#"{"seq": "7"}"#, "seq: invalid type: string"),
            (r#"{"seq": 1, "seq": 2}"#, "duplicate field `seq`"),
            (r#"{"seq": 1, "other": 2}"#, "unknown field `other`"),
        ] {
            let refused = decode::<MarkReadRequest>(json).unwrap_err();
            assert!(refused.contains(error), "{json}: {refused}");
        }
    }
}
