//! Arguments in and results out: bytes from `str`/`bytes`/paths, integer
//! arrays from any numpy array or sequence (range-checked into the width the
//! spec gives each argument), JSON values as Python objects.

use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

use crate::errors::input;

/// The bytes of a text or data argument: `bytes`, `bytearray`, `memoryview`,
/// or a `str` (its UTF-8).
pub fn bytes_of(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if obj.hasattr("tobytes")? {
        // memoryview, numpy uint8 arrays
        if let Ok(b) = obj.call_method0("tobytes")?.cast::<PyBytes>() {
            return Ok(b.as_bytes().to_vec());
        }
    }
    Err(input(format!("{what}: expected bytes or str, got {}", type_name(obj))))
}

/// The bytes of `path_or_bytes`: the file's content when it is a `str` or an
/// `os.PathLike`, else the bytes themselves. Returns the file name too.
pub fn file_bytes(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<(Vec<u8>, Option<String>)> {
    let py = obj.py();
    let is_path = obj.is_instance_of::<PyString>() || obj.is_instance(&py.import("os")?.getattr("PathLike")?)?;
    if is_path {
        let path: std::path::PathBuf = obj.extract()?;
        let bytes = std::fs::read(&path).map_err(|e| input(format!("{what}: cannot read {}: {e}", path.display())))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        return Ok((bytes, name));
    }
    Ok((bytes_of(obj, what)?, None))
}

pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// An integer array argument: its values (as i128, wide enough for every
/// numpy integer dtype) and its shape. Accepts numpy arrays of any integer
/// dtype and (nested) sequences of Python ints; refuses floats.
pub fn int_array(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<(Vec<i128>, Vec<usize>)> {
    let py = obj.py();
    let np = py.import("numpy")?;
    let arr = np.call_method1("asarray", (obj,)).map_err(|e| input(format!("{what}: not an integer array ({e})")))?;
    let kind: String = arr.getattr("dtype")?.getattr("kind")?.extract()?;
    match kind.as_str() {
        "u" => {
            let a = arr.call_method1("astype", ("uint64",))?;
            let a = a.cast::<PyArrayDyn<u64>>().map_err(|e| input(format!("{what}: {e}")))?;
            let shape = a.shape().to_vec();
            let v = a.readonly().as_array().iter().map(|&x| i128::from(x)).collect();
            Ok((v, shape))
        }
        "i" | "b" => {
            let a = arr.call_method1("astype", ("int64",))?;
            let a = a.cast::<PyArrayDyn<i64>>().map_err(|e| input(format!("{what}: {e}")))?;
            let shape = a.shape().to_vec();
            let v = a.readonly().as_array().iter().map(|&x| i128::from(x)).collect();
            Ok((v, shape))
        }
        // An empty list comes out as float64 with no element to misread.
        "f" if arr.getattr("size")?.extract::<usize>()? == 0 => Ok((Vec::new(), arr.getattr("shape")?.extract()?)),
        _ => Err(input(format!("{what}: expected integers, got an array of dtype {}", arr.getattr("dtype")?.str()?))),
    }
}

/// A 1-D integer array argument converted to `T`, every element range-checked.
pub fn vec_of<T: TryFrom<i128>>(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<T>> {
    let (v, shape) = int_array(obj, what)?;
    if shape.len() != 1 {
        return Err(input(format!("{what}: expected a 1-D array, got shape {shape:?}")));
    }
    narrow(v, what)
}

/// A 2-D integer array argument converted to `T` (row-major) with its (rows, cols).
pub fn matrix_of<T: TryFrom<i128>>(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<(Vec<T>, usize, usize)> {
    let (v, shape) = int_array(obj, what)?;
    let [r, c] = shape[..] else {
        return Err(input(format!("{what}: expected a 2-D array, got shape {shape:?}")));
    };
    Ok((narrow(v, what)?, r, c))
}

fn narrow<T: TryFrom<i128>>(v: Vec<i128>, what: &str) -> PyResult<Vec<T>> {
    let ty = std::any::type_name::<T>();
    v.into_iter()
        .enumerate()
        .map(|(i, x)| T::try_from(x).map_err(|_| input(format!("{what}[{i}] = {x} does not fit {ty}"))))
        .collect()
}

/// An integer scalar argument of width `T`.
pub fn int_of<T: TryFrom<i128>>(x: i128, what: &str) -> PyResult<T> {
    T::try_from(x).map_err(|_| input(format!("{what} = {x} does not fit {}", std::any::type_name::<T>())))
}

/// A JSON value as the equal Python object (through `json.loads`).
pub fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (v.to_string(),))
}
