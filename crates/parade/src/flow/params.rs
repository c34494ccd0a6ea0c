//! Params: values every proc of a flow sees.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Flow, FlowError};

impl Flow {
    /// Sets a param every proc sees.
    pub fn set_param(&self, key: &str, value: impl Serialize) -> Result<(), FlowError> {
        let v = serde_json::to_value(value).map_err(|e| FlowError::Options(e.to_string()))?;
        self.inner.params.write().insert(key.to_owned(), v);
        Ok(())
    }

    /// Merges params every proc sees.
    pub fn set_params(&self, params: serde_json::Map<String, Value>) {
        self.inner.params.write().extend(params);
    }

    /// A param, read as `T`.
    pub fn param<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let v = self.inner.params.read().get(key)?.clone();
        serde_json::from_value(v).ok()
    }

    /// Every param.
    pub fn params(&self) -> serde_json::Map<String, Value> {
        self.inner.params.read().clone()
    }
}
