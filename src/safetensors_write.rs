//! Writing safetensors files (the container of `czip-model-v1` models, and of
//! tensor dumps), byte for byte deterministically.
//!
//! The layout, as the safetensors format specifies it:
//!
//! - 8 bytes: the header length `N`, an unsigned 64-bit little-endian integer;
//! - `N` bytes: a JSON object, UTF-8, without whitespace. Its keys are in
//!   byte order at every level: `__metadata__` (a map of strings to strings,
//!   always written, possibly empty) among the tensor names (so before any
//!   name starting with a lowercase letter), and in each tensor's object
//!   `data_offsets` (`[begin, end]`), `dtype`, `shape`. The header is padded
//!   with spaces (0x20) so that `8 + N` is a multiple of 8: the data starts
//!   8-byte aligned;
//! - the data: each tensor's elements in row-major order, little-endian,
//!   laid out contiguously in name order with no gaps (`data_offsets` are
//!   relative to the start of the data; the first begins at 0, each next one
//!   where the previous ended, the last ends at the end of the file).
//!
//! The dtypes are the integer ones CZIP uses: `I8`, `U8`, `I16`, `U16`, `I32`,
//! `U32`. A scalar has shape `[]` and one element. The shape must describe
//! exactly the elements given: [`encode`] refuses a tensor whose shape's
//! element count differs from its data's.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// A tensor's elements, typed (the dtype is the variant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TensorData {
    I8(Vec<i8>),
    U8(Vec<u8>),
    I16(Vec<i16>),
    U16(Vec<u16>),
    I32(Vec<i32>),
    U32(Vec<u32>),
}

impl TensorData {
    /// The safetensors dtype name.
    pub fn dtype(&self) -> &'static str {
        match self {
            TensorData::I8(_) => "I8",
            TensorData::U8(_) => "U8",
            TensorData::I16(_) => "I16",
            TensorData::U16(_) => "U16",
            TensorData::I32(_) => "I32",
            TensorData::U32(_) => "U32",
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            TensorData::I8(v) => v.len(),
            TensorData::U8(v) => v.len(),
            TensorData::I16(v) => v.len(),
            TensorData::U16(v) => v.len(),
            TensorData::I32(v) => v.len(),
            TensorData::U32(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements, little-endian, in order.
    pub fn le_bytes(&self) -> Vec<u8> {
        match self {
            TensorData::I8(v) => v.iter().map(|&x| x as u8).collect(),
            TensorData::U8(v) => v.clone(),
            TensorData::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::U16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
}

/// Tensors by name: each its shape and its elements.
pub type Tensors = BTreeMap<String, (Vec<usize>, TensorData)>;

/// The safetensors file of `metadata` and `tensors` (see the module
/// documentation for the exact layout). Fails when a tensor's shape does not
/// hold exactly its elements.
pub fn encode(metadata: &BTreeMap<String, String>, tensors: &Tensors) -> Result<Vec<u8>, String> {
    let mut header = Map::new();
    header.insert("__metadata__".into(), json!(metadata));
    let mut data = Vec::new();
    for (name, (shape, d)) in tensors {
        let elements = shape.iter().try_fold(1usize, |n, &s| n.checked_mul(s));
        if elements != Some(d.len()) {
            return Err(format!("tensor {name}: shape {shape:?} does not hold its {} elements", d.len()));
        }
        let start = data.len();
        data.extend_from_slice(&d.le_bytes());
        header.insert(name.clone(), json!({"dtype": d.dtype(), "shape": shape, "data_offsets": [start, data.len()]}));
    }
    let mut h = serde_json::to_vec(&Value::Object(header)).map_err(|e| e.to_string())?;
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + h.len() + data.len());
    out.extend_from_slice(&(h.len() as u64).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(&data);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use safetensors::tensor::Dtype;
    use safetensors::SafeTensors;

    fn sample() -> (BTreeMap<String, String>, Tensors) {
        let md = BTreeMap::from([("format".to_string(), "test".to_string()), ("a".to_string(), "1".to_string())]);
        let t = Tensors::from([
            ("b.weight".to_string(), (vec![2, 3], TensorData::I8(vec![-128, -1, 0, 1, 2, 127]))),
            ("a.mult".to_string(), (vec![], TensorData::I32(vec![-123_456_789]))),
            ("c".to_string(), (vec![3], TensorData::U16(vec![1, 0x1234, 0xffff]))),
            ("d".to_string(), (vec![1, 2], TensorData::U32(vec![7, 0xdead_beef]))),
            ("e".to_string(), (vec![2], TensorData::I16(vec![-2, 300]))),
            ("f".to_string(), (vec![0], TensorData::U8(vec![]))),
        ]);
        (md, t)
    }

    #[test]
    fn the_safetensors_reader_reads_back_what_was_written() {
        let (md, t) = sample();
        let bytes = encode(&md, &t).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!((8 + n) % 8, 0, "data starts 8-byte aligned");
        let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
        let read_md = meta.metadata().clone().unwrap();
        assert_eq!(read_md.into_iter().collect::<BTreeMap<_, _>>(), md);
        let st = SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(st.len(), t.len());
        for (name, (shape, d)) in &t {
            let v = st.tensor(name).unwrap();
            assert_eq!(v.shape(), shape.as_slice(), "{name}");
            let dtype = match d {
                TensorData::I8(_) => Dtype::I8,
                TensorData::U8(_) => Dtype::U8,
                TensorData::I16(_) => Dtype::I16,
                TensorData::U16(_) => Dtype::U16,
                TensorData::I32(_) => Dtype::I32,
                TensorData::U32(_) => Dtype::U32,
            };
            assert_eq!(v.dtype(), dtype, "{name}");
            assert_eq!(v.data(), d.le_bytes().as_slice(), "{name}");
        }
    }

    #[test]
    fn the_header_keys_and_the_data_are_in_name_order() {
        let (md, t) = sample();
        let bytes = encode(&md, &t).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
        assert!(header.starts_with(r#"{"__metadata__":{"a":"1","format":"test"},"a.mult":{"data_offsets":[0,4],"dtype":"I32","shape":[]},"b.weight":"#), "{header}");
        assert!(header.trim_end_matches(' ').ends_with(r#""f":{"data_offsets":[28,28],"dtype":"U8","shape":[0]}}"#), "{header}");
        // Scalar i32 little-endian first (name order), then b.weight.
        assert_eq!(&bytes[8 + n..8 + n + 4], &(-123_456_789i32).to_le_bytes());
        assert_eq!(&bytes[8 + n + 4..8 + n + 10], &[0x80, 0xff, 0, 1, 2, 0x7f]);
    }

    #[test]
    fn a_shape_that_does_not_hold_the_elements_is_refused() {
        let t = Tensors::from([("x".to_string(), (vec![2, 2], TensorData::I8(vec![1, 2, 3])))]);
        assert!(encode(&BTreeMap::new(), &t).unwrap_err().contains("tensor x"));
        let t = Tensors::from([("x".to_string(), (vec![], TensorData::I8(vec![])))]);
        assert!(encode(&BTreeMap::new(), &t).is_err());
    }
}
