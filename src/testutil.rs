//! What unit tests of several modules share.

use proptest::prelude::*;
use serde_json::Value;

/// Any JSON value, its strings and keys from `words` (or anything), its
/// numbers at the edges of the types a config uses.
pub fn json_value(words: Vec<&'static str>) -> impl Strategy<Value = Value> {
    let word = prop_oneof![
        4 => proptest::sample::select(words).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        proptest::sample::select(vec![
            0i64,
            1,
            -1,
            6,
            7,
            255,
            65535,
            65536,
            i64::from(i32::MAX),
            i64::from(u32::MAX),
            i64::from(u32::MAX) + 1,
            i64::MIN,
            i64::MAX
        ])
        .prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        word.clone().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            proptest::collection::vec((word.clone(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}
