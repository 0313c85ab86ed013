//! The model work shared by the file cases of one run: a run compresses and
//! decompresses every corpus text at every chunk length, and most of the
//! model steps those cases need are the same steps.
//!
//! Two facts make them the same (spec §8.3): a chunk's coding depends on its
//! own tokens only (every chunk starts from BOS with empty caches), and the
//! model's step at chunk position i reads positions `0..=i` only. So
//!
//! * a level-K chunk that starts at a multiple of 2K is a *prefix* of the
//!   level-2K chunk there, and its tokens' frequency-table intervals are the
//!   first K of that chunk's; chunks of equal tokens (a text that repeats,
//!   texts with a common start) have equal intervals;
//! * decompressing a file the run also compresses decodes bytes that were
//!   encoded from known tokens, with the tables of those tokens' prefixes.
//!
//! What is computed once, and why each answer is the engine's:
//!
//! * **Intervals of a context** — a context is the longest chunk the run
//!   codes at a start (the planned levels, [`SharedCoding::plan`]), keyed by
//!   its tokens: [`ChunkCoder::intervals`], the values
//!   [`ChunkCoder::encode`] codes. A chunk is coded from the first positions
//!   of its context.
//! * **Encoding** — [`Encoder::encode_interval`] over those intervals, which
//!   is `ChunkCoder::encode` (the same calls in the same order).
//! * **Decoding** — the bytes of a chunk this run encoded from tokens `C`
//!   are decoded by the arithmetic decoder with
//!   [`Decoder::decode_expected`] and `C[i]`'s interval: that is exactly
//!   "the decoder, given position i's table, returns `C[i]`" (its doc), and
//!   position i's table is the one of the decoded prefix because that prefix
//!   is `C[..i]`. The engine's decoder also re-encodes the decoded tokens
//!   and requires the bytes back; here that holds by construction (the
//!   bytes are the key the candidate was found by, the encoding of `C`'s
//!   intervals, and the decoded tokens are `C`). A token that is not `C[i]`, bytes no
//!   case encoded, or any failure: the engine's own
//!   [`decode_file`](crate::pipeline::Engine::decode_file) decodes the file,
//!   and gives the engine's error.
//!
//! * **Chunk cases** — a `chunk_encode` case is coded from a stored context
//!   that starts with its tokens (a text's, found by the context's first
//!   64 tokens) or from its own, and registered as a candidate; a
//!   `chunk_decode` case is decoded as above when its bytes are a
//!   candidate's. The runner *plans* the chunk-encode cases
//!   ([`SharedCoding::plan_chunk`]), so a decode that comes first codes the
//!   planned chunks of its length and finds its candidate among them.
//!
//! Not shared: tokenizing aside (one per model and text), every case still
//! runs its own container writing or reading, outer codec and checks, and
//! anything the engine refuses (a text that is not UTF-8, a level above the
//! model's capacity, a failing step) is answered by the engine itself.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rayon::prelude::*;

use crate::coder::{Decoder, Encoder};
use crate::container::CzipFile;
use crate::error::Error;
use crate::model::Kernel;
use crate::pipeline::{ChunkCoder, EncodedChunks, MIN_CHUNK_LOG2};
use crate::Model;

/// (model name, SHA-256 of the text).
type TextKey = (String, String);
/// The coding interval `[C[j−1], C[j])` of each token of a chunk, in order.
type Intervals = Vec<(u32, u32)>;
/// (model name, a chunk's tokens).
type ChunkKey = (String, Vec<u32>);
/// (model name, a chunk's bytes, its token count).
type CodedChunk = (String, Vec<u8>, usize);
/// Tokens of a context's head (the shortest chunk length): the key of
/// [`SharedCoding`]'s index of contexts by their start.
const HEAD: usize = 1 << MIN_CHUNK_LOG2;
/// A context's tokens and intervals, as the index of heads holds them.
type HeadedContext = (Arc<[u32]>, Arc<Intervals>);

/// The shared work of one run (see the module doc). All maps only grow;
/// every value is a pure function of its key.
#[derive(Default)]
pub struct SharedCoding {
    /// The chunk lengths (log2) the run's compress cases code each text at.
    plan: Mutex<HashMap<TextKey, BTreeSet<u8>>>,
    /// Texts whose planned contexts are computed (or being computed).
    claimed: Mutex<BTreeSet<TextKey>>,
    tokens: Mutex<HashMap<TextKey, Arc<Vec<u32>>>>,
    /// Intervals of a context by (model, its tokens); shorter than the
    /// tokens when a step failed (the positions before the failure).
    contexts: Mutex<HashMap<ChunkKey, Arc<Intervals>>>,
    /// The contexts of at least [`HEAD`] tokens by (model, their first
    /// [`HEAD`] tokens): where a chunk case finds a context it is a prefix of.
    heads: Mutex<HashMap<ChunkKey, Vec<HeadedContext>>>,
    encoded: Mutex<HashMap<(TextKey, u8), Arc<EncodedChunks>>>,
    /// What the run encoded: (model, chunk bytes, token count) → the tokens
    /// and their intervals.
    candidates: Mutex<HashMap<CodedChunk, Arc<Candidate>>>,
    /// The chunks the run's chunk-encode cases code, by model, not coded
    /// yet by a chunk decode ([`SharedCoding::decode_chunk`]).
    chunk_plan: Mutex<HashMap<String, Vec<Vec<u32>>>>,
}

struct Candidate {
    tokens: Vec<u32>,
    /// The intervals of the context the chunk was coded from: the chunk's
    /// are its first `tokens.len()`.
    intervals: Arc<Intervals>,
}

/// A poisoned map is still sound: values are inserted whole.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SharedCoding {
    /// Records that the run compresses the text `text_sha` with `model` at
    /// chunk length `2^k`: the first compression of the text computes the
    /// contexts of all its planned lengths at once, so that shorter chunks
    /// are served from longer ones. Without a plan each compression computes
    /// what its own length needs (still shared with equal chunks).
    pub fn plan(&self, model: &str, text_sha: &str, k: u8) {
        lock(&self.plan).entry((model.to_string(), text_sha.to_string())).or_default().insert(k);
    }

    /// The coded chunks of `text` at `2^k` tokens per chunk: what the
    /// engine's `encode_chunks(model, text, Some(k))` answers, which
    /// `engine` computes when this cannot (see the module doc).
    pub fn encode(
        &self,
        kernel: Kernel,
        (name, m): (&str, &Model),
        (text, text_sha): (&[u8], &str),
        k: u8,
        engine: impl FnOnce() -> Result<EncodedChunks, Error>,
    ) -> Result<Arc<EncodedChunks>, Error> {
        let key: TextKey = (name.to_string(), text_sha.to_string());
        if let Some(e) = lock(&self.encoded).get(&(key.clone(), k)) {
            return Ok(e.clone());
        }
        let cfg = m.config();
        let tokens = match (MIN_CHUNK_LOG2..=cfg.max_chunk_log2).contains(&k) && u32::try_from(text.len()).is_ok() {
            true => self.tokens(&key, m, text),
            false => None,
        };
        let Some(tokens) = tokens else { return engine().map(Arc::new) };
        // The first compression of a text codes every planned length.
        let first = lock(&self.claimed).insert(key.clone());
        let mut levels: BTreeSet<u8> = match first {
            true => lock(&self.plan).get(&key).cloned().unwrap_or_default(),
            false => BTreeSet::new(),
        };
        levels.insert(k);
        self.compute_contexts(kernel, name, m, &tokens, &levels);
        let mut answer = None;
        for &l in &levels {
            let coded = self.code_level(name, m, &tokens, l, text.len());
            if l == k {
                answer = Some(coded);
            } else if let Some(c) = coded {
                lock(&self.encoded).entry((key.clone(), l)).or_insert(c);
            }
        }
        match answer.flatten() {
            Some(c) => Ok(lock(&self.encoded).entry((key, k)).or_insert(c).clone()),
            None => engine().map(Arc::new),
        }
    }

    /// Every chunk's tokens of `file`: what the engine's `decode_file`
    /// answers, which `engine` computes unless every chunk's bytes are
    /// ones this run encoded and decode to their tokens (module doc).
    pub fn decode(
        &self,
        name: &str,
        m: &Model,
        file: &CzipFile,
        engine: impl FnOnce() -> Result<Vec<Vec<u32>>, Error>,
    ) -> Result<Vec<Vec<u32>>, Error> {
        let mut out = Vec::with_capacity(file.chunk_count());
        for i in 0..file.chunk_count() {
            match self.decode_candidate(name, m, file.chunk(i), file.tokens_in_chunk(i)) {
                Some(tokens) => out.push(tokens),
                None => return engine(),
            }
        }
        Ok(out)
    }

    /// The `n` tokens of a chunk's `bytes` when they are a candidate's (this
    /// run encoded them) and decode to its tokens (module doc).
    fn decode_candidate(&self, name: &str, m: &Model, bytes: &[u8], n: usize) -> Option<Vec<u32>> {
        let candidate = lock(&self.candidates).get(&(name.to_string(), bytes.to_vec(), n)).cloned()?;
        decode_as(bytes, &candidate, m.target_total())
    }

    /// Records that the run codes `tokens` as one chunk with `model` (a
    /// chunk-encode case): a chunk decode that finds no candidate for its
    /// bytes codes the planned chunks of its length first.
    pub fn plan_chunk(&self, model: &str, tokens: Vec<u32>) {
        lock(&self.chunk_plan).entry(model.to_string()).or_default().push(tokens);
    }

    /// `tokens` coded as one chunk: what the engine's
    /// [`ChunkCoder::encode`] answers, which `engine` computes when this
    /// cannot (no tokens, more than the capacity, a failing step or token).
    pub fn encode_chunk(
        &self,
        kernel: Kernel,
        (name, m): (&str, &Model),
        tokens: &[u32],
        engine: impl FnOnce() -> Result<Vec<u8>, String>,
    ) -> Result<Vec<u8>, String> {
        match self.code_chunk(kernel, name, m, tokens) {
            Some(bytes) => Ok(bytes),
            None => engine(),
        }
    }

    /// The `n` tokens of one chunk's `bytes`: what the engine's
    /// [`ChunkCoder::decode`] answers, which `engine` computes unless the
    /// bytes are ones this run encoded (a file's chunk, a chunk case's, or
    /// a planned chunk of `n` tokens, coded here first) and decode to their
    /// tokens (module doc).
    pub fn decode_chunk(
        &self,
        kernel: Kernel,
        (name, m): (&str, &Model),
        bytes: &[u8],
        n: usize,
        engine: impl FnOnce() -> Result<Vec<u32>, String>,
    ) -> Result<Vec<u32>, String> {
        if let Some(tokens) = self.decode_candidate(name, m, bytes, n) {
            return Ok(tokens);
        }
        let planned: Vec<Vec<u32>> = match lock(&self.chunk_plan).get_mut(name) {
            Some(plan) => {
                let (of_n, rest) = std::mem::take(plan).into_iter().partition(|t| t.len() == n);
                *plan = rest;
                of_n
            }
            None => Vec::new(),
        };
        for tokens in planned {
            self.code_chunk(kernel, name, m, &tokens);
        }
        self.decode_candidate(name, m, bytes, n).map_or_else(engine, Ok)
    }

    /// `tokens` coded as one chunk from its stored context, or from one
    /// computed now and stored; registered as a candidate (`None`: see
    /// [`encode_chunk`](Self::encode_chunk)).
    fn code_chunk(&self, kernel: Kernel, name: &str, m: &Model, tokens: &[u32]) -> Option<Vec<u8>> {
        if tokens.is_empty() || tokens.len() > 1usize << m.config().max_chunk_log2 {
            return None;
        }
        let stored = self.stored_intervals(name, m, tokens, tokens.len()).or_else(|| self.context_starting_with(name, tokens));
        let intervals = match stored {
            Some(iv) => iv,
            None => {
                let mut iv = Vec::new();
                // A failure leaves the positions before it: too few to code.
                let _ = ChunkCoder::with_kernel(m, tokens.len(), kernel).intervals(tokens, &mut iv);
                self.store_context(name, tokens, iv)
            }
        };
        self.code_candidate(name, m.target_total(), tokens, intervals)
    }

    /// The chunk `tokens` coded from its context's `intervals` (the
    /// chunk's are their first `tokens.len()`) and registered as a
    /// candidate for decoding; `None` when the context is shorter than the
    /// chunk or the coder refuses.
    fn code_candidate(&self, name: &str, total: u32, tokens: &[u32], intervals: Arc<Intervals>) -> Option<Vec<u8>> {
        if intervals.len() < tokens.len() {
            return None;
        }
        let mut enc = Encoder::with_buffer(Vec::with_capacity(tokens.len() * 2 + 8));
        for (&iv, &t) in intervals.iter().zip(tokens) {
            enc.encode_interval(iv, total, t as usize).ok()?;
        }
        let bytes = enc.finish();
        let candidate = Arc::new(Candidate { tokens: tokens.to_vec(), intervals });
        lock(&self.candidates).entry((name.to_string(), bytes.clone(), tokens.len())).or_insert(candidate);
        Some(bytes)
    }

    /// The text's tokens (`None` when the text is not UTF-8 or does not
    /// tokenize: the engine answers those).
    fn tokens(&self, key: &TextKey, m: &Model, text: &[u8]) -> Option<Arc<Vec<u32>>> {
        if let Some(t) = lock(&self.tokens).get(key) {
            return Some(t.clone());
        }
        let t = Arc::new(m.tokenizer().encode(std::str::from_utf8(text).ok()?).ok()?);
        Some(lock(&self.tokens).entry(key.clone()).or_insert(t).clone())
    }

    /// Computes, in parallel, the contexts the chunks of `levels` need that
    /// no stored context covers: at each chunk start, the longest of those
    /// chunks there.
    fn compute_contexts(&self, kernel: Kernel, name: &str, m: &Model, tokens: &[u32], levels: &BTreeSet<u8>) {
        let n = tokens.len();
        let mut longest: BTreeMap<usize, usize> = BTreeMap::new();
        for &k in levels {
            for s in (0..n).step_by(1 << k) {
                let len = (1usize << k).min(n - s);
                let e = longest.entry(s).or_default();
                *e = (*e).max(len);
            }
        }
        let capacity = 1usize << m.config().max_chunk_log2;
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&[u32]> = longest
            .into_iter()
            .filter(|&(s, len)| self.stored_intervals(name, m, &tokens[s..(s + capacity).min(n)], len).is_none())
            .map(|(s, len)| &tokens[s..s + len])
            .filter(|c| seen.insert(*c))
            .collect();
        // Longest first, for an even load.
        todo.sort_by_key(|c| std::cmp::Reverse(c.len()));
        let Some(capacity) = todo.first().map(|c| c.len()) else { return };
        let computed: Vec<(Vec<u32>, Intervals)> = todo
            .par_iter()
            .map_init(
                || (ChunkCoder::with_kernel(m, capacity, kernel), Vec::new()),
                |(coder, iv), c| {
                    // A failure leaves the positions before it: chunks
                    // reaching it are coded by the engine (`code_level`).
                    let _ = coder.intervals(c, iv);
                    (c.to_vec(), iv.clone())
                },
            )
            .collect();
        for (c, iv) in computed {
            self.store_context(name, &c, iv);
        }
    }

    /// Stores the intervals `iv` of the context `tokens` (unless stored
    /// already) and returns the stored ones.
    fn store_context(&self, name: &str, tokens: &[u32], iv: Intervals) -> Arc<Intervals> {
        let mut store = lock(&self.contexts);
        if let Some(known) = store.get(&(name.to_string(), tokens.to_vec())) {
            return known.clone();
        }
        let iv = Arc::new(iv);
        store.insert((name.to_string(), tokens.to_vec()), iv.clone());
        if tokens.len() >= HEAD {
            let head = (name.to_string(), tokens[..HEAD].to_vec());
            lock(&self.heads).entry(head).or_default().push((tokens.into(), iv.clone()));
        }
        iv
    }

    /// A stored context that starts with the chunk `tokens` and holds its
    /// intervals (a context of a text starting with it; chunks of fewer
    /// than [`HEAD`] tokens are found by [`stored_intervals`](Self::stored_intervals) only).
    fn context_starting_with(&self, name: &str, tokens: &[u32]) -> Option<Arc<Intervals>> {
        if tokens.len() < HEAD {
            return None;
        }
        let heads = lock(&self.heads);
        let found = heads.get(&(name.to_string(), tokens[..HEAD].to_vec()))?;
        found.iter().find(|(c, iv)| c.starts_with(tokens) && iv.len() >= tokens.len()).map(|(_, iv)| iv.clone())
    }

    /// A stored context holding the chunk `from_start[..len]` (its
    /// intervals are the context's first `len`): that chunk itself, or a
    /// longer one starting with it (`from_start` is the text from the chunk's
    /// start, so its prefixes of the model's chunk lengths are the contexts
    /// that can hold the chunk).
    fn stored_intervals(&self, name: &str, m: &Model, from_start: &[u32], len: usize) -> Option<Arc<Intervals>> {
        let store = lock(&self.contexts);
        let mut key: ChunkKey = (name.to_string(), Vec::new());
        let mut lengths: Vec<usize> = (MIN_CHUNK_LOG2..=m.config().max_chunk_log2).map(|k| (1usize << k).min(from_start.len())).collect();
        lengths.push(len);
        lengths.sort_unstable_by(|a, b| b.cmp(a));
        lengths.dedup();
        for l in lengths.into_iter().filter(|&l| l >= len) {
            key.1.clear();
            key.1.extend_from_slice(&from_start[..l]);
            if let Some(iv) = store.get(&key).filter(|iv| iv.len() >= len) {
                return Some(iv.clone());
            }
        }
        None
    }

    /// The text's chunks at `2^k` tokens from the stored contexts, each
    /// registered as a candidate for decoding (`None`: a chunk has no
    /// complete context or cannot be coded — the engine answers).
    fn code_level(&self, name: &str, m: &Model, tokens: &[u32], k: u8, text_len: usize) -> Option<Arc<EncodedChunks>> {
        let chunk_len = 1usize << k;
        let total = m.target_total();
        let mut chunks = Vec::with_capacity(tokens.len().div_ceil(chunk_len));
        for s in (0..tokens.len()).step_by(chunk_len) {
            let chunk = &tokens[s..(s + chunk_len).min(tokens.len())];
            let end = (s + (1usize << m.config().max_chunk_log2)).min(tokens.len());
            let intervals = self.stored_intervals(name, m, &tokens[s..end], chunk.len())?;
            chunks.push(self.code_candidate(name, total, chunk, intervals)?);
        }
        let last_chunk_tokens = match tokens.len() % chunk_len {
            0 => chunk_len,
            r => r,
        } as u16;
        Some(Arc::new(EncodedChunks { chunk_log2: k, uncompressed_len: u32::try_from(text_len).ok()?, last_chunk_tokens, chunks }))
    }
}

/// `bytes` decoded as `c.tokens` (see the module doc): `None` unless the
/// decoder returns every token of `c`. `bytes` must be the candidate's key
/// (the encoding of its intervals), which makes the engine's re-encoding
/// check hold.
fn decode_as(bytes: &[u8], c: &Candidate, total: u32) -> Option<Vec<u32>> {
    let mut dec = Decoder::new(bytes);
    for (&iv, &t) in c.intervals.iter().zip(&c.tokens) {
        if !dec.decode_expected(iv, total, t as usize).ok()? {
            return None;
        }
    }
    Some(c.tokens.clone())
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::container::OuterCodec;
    use crate::pipeline::{read_for_model, write_encoded, CompressOptions, DecompressOptions, Engine};

    /// `syn_c` (vectors/models): chunk lengths 64, 128 and 256.
    fn syn_c() -> Model {
        Model::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/models/syn_c.czm")).expect("vectors/models/syn_c.czm")
    }

    /// About 1,000 tokens: words from a fixed generator, then the same
    /// 300 bytes four times (chunks with equal tokens).
    fn text() -> Vec<u8> {
        let mut s = 0x1234_5678u32;
        let mut t = String::new();
        while t.len() < 700 {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            t.push_str(["the ", "cat ", "sat ", "on ", "a ", "mat, ", "and\n", "§9 ", "zq "][(s >> 28) as usize % 9]);
        }
        let block: String = "abc ".repeat(75);
        t.push_str(&block.repeat(4));
        t.into_bytes()
    }

    fn file_of(m: &Model, e: &EncodedChunks) -> CzipFile {
        let bytes = write_encoded(m, e, &CompressOptions { chunk_log2: Some(e.chunk_log2), codec: OuterCodec::Zstd, model_id_hash: None }).unwrap();
        read_for_model(m, &bytes, &DecompressOptions::SPEC_LITERAL).unwrap()
    }

    /// Counts calls of the engine stand-in and answers `answer`.
    fn counted<'a, T: 'a>(calls: &'a AtomicUsize, answer: T) -> impl FnOnce() -> T + 'a {
        move || {
            calls.fetch_add(1, Ordering::Relaxed);
            answer
        }
    }

    #[test]
    fn planned_lengths_code_and_decode_as_the_engine_without_it() {
        let m = syn_c();
        let engine = Engine::default();
        let text = text();
        let shared = SharedCoding::default();
        for k in 6..=8 {
            shared.plan("syn_c", "t", k);
        }
        let calls = AtomicUsize::new(0);
        for k in 6..=8 {
            let want = engine.encode_chunks(&m, &text, Some(k), None).unwrap();
            let got = shared.encode(engine.kernel(), ("syn_c", &m), (&text, "t"), k, counted(&calls, Err(Error::InputTooLarge { len: 0 }))).unwrap();
            assert_eq!(*got, want, "k = {k}");
            let file = file_of(&m, &got);
            let decoded = shared.decode("syn_c", &m, &file, counted(&calls, Ok(vec![]))).unwrap();
            assert_eq!(decoded, engine.decode_file(&m, &file, None).unwrap(), "k = {k}");
        }
        assert_eq!(calls.load(Ordering::Relaxed), 0, "the engine was called");
        // The first compression computed every context: 1,518 tokens have
        // 24 chunk starts — 6 of 256 tokens (at multiples of 256), 6 of 128
        // (odd multiples of 128), 12 of 64 (odd multiples of 64): 3,018
        // positions — of which 3 repeat another's tokens (the repeated
        // block). The three lengths coded alone take 3 × 1,518 = 4,554 model
        // steps, and decoding them as many again.
        let n = m.tokenizer().encode(std::str::from_utf8(&text).unwrap()).unwrap().len();
        assert_eq!(n, 1518);
        assert_eq!(lock(&shared.contexts).len(), 21);
        let positions: usize = lock(&shared.contexts).values().map(|iv| iv.len()).sum();
        assert_eq!(positions, 2826);
    }

    #[test]
    fn without_a_plan_each_length_is_still_the_engines() {
        let m = syn_c();
        let engine = Engine::default();
        let text = text();
        let shared = SharedCoding::default();
        for k in [6, 8, 7, 6] {
            let got = shared.encode(engine.kernel(), ("syn_c", &m), (&text, "t"), k, || panic!("the engine was called")).unwrap();
            assert_eq!(*got, engine.encode_chunks(&m, &text, Some(k), None).unwrap(), "k = {k}");
        }
    }

    #[test]
    fn what_the_engine_refuses_is_answered_by_the_engine() {
        let m = syn_c();
        let engine = Engine::default();
        let shared = SharedCoding::default();
        for (text, k) in [(&b"ab\xffcd"[..], 6), (b"abc", 9), (b"abc", 5)] {
            let calls = AtomicUsize::new(0);
            let want = engine.encode_chunks(&m, text, Some(k), None).unwrap_err().to_string();
            let got = shared.encode(engine.kernel(), ("syn_c", &m), (text, "x"), k, counted(&calls, engine.encode_chunks(&m, text, Some(k), None)));
            assert_eq!(got.map(|_| ()).unwrap_err().to_string(), want);
            assert_eq!(calls.load(Ordering::Relaxed), 1);
        }
    }

    #[test]
    fn bytes_no_case_encoded_are_decoded_by_the_engine() {
        let m = syn_c();
        let engine = Engine::default();
        let text = text();
        let shared = SharedCoding::default();
        let coded = shared.encode(engine.kernel(), ("syn_c", &m), (&text, "t"), 7, || panic!("the engine was called")).unwrap();
        let mut other = (*coded).clone();
        // A flipped bit in the last chunk: a file this run never wrote.
        let last = other.chunks.last_mut().unwrap();
        *last.last_mut().unwrap() ^= 0x10;
        let file = file_of(&m, &other);
        let calls = AtomicUsize::new(0);
        let want = engine.decode_file(&m, &file, None).map_err(|e| e.to_string());
        let got = shared.decode("syn_c", &m, &file, counted(&calls, engine.decode_file(&m, &file, None))).map_err(|e| e.to_string());
        assert_eq!(got, want);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        // Another model's name: its candidates are not this model's.
        let file = file_of(&m, &coded);
        let got = shared.decode("syn_b", &m, &file, counted(&calls, Ok(vec![])));
        assert_eq!(got.unwrap(), Vec::<Vec<u32>>::new());
        assert_eq!(calls.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn chunk_cases_code_and_decode_as_the_engine() {
        let m = syn_c();
        let kernel = Engine::default().kernel();
        let text = text();
        let toks = m.tokenizer().encode(std::str::from_utf8(&text).unwrap()).unwrap();
        let engine_encode = |t: &[u32]| ChunkCoder::with_kernel(&m, t.len().max(1), kernel).encode(t).map_err(|(p, e)| format!("{p}: {e}"));
        let engine_decode = |b: &[u8], n: usize| {
            let mut out = Vec::new();
            ChunkCoder::with_kernel(&m, n.max(1), kernel).decode(b, n, &mut out).map(|()| out).map_err(|(p, e)| format!("{p}: {e}"))
        };
        let shared = SharedCoding::default();
        let calls = AtomicUsize::new(0);
        // A file case's contexts (256 tokens at multiples of 256) hold the
        // text's first chunks of 64, 100 and 256 tokens: no model work.
        shared.encode(kernel, ("syn_c", &m), (&text, "t"), 8, || panic!("the engine was called")).unwrap();
        let contexts = lock(&shared.contexts).len();
        for len in [64, 100, 256] {
            let chunk = &toks[..len];
            let bytes = shared.encode_chunk(kernel, ("syn_c", &m), chunk, counted(&calls, Err(String::new()))).unwrap();
            assert_eq!(bytes, engine_encode(chunk).unwrap(), "{len} tokens");
            let decoded = shared.decode_chunk(kernel, ("syn_c", &m), &bytes, len, counted(&calls, Ok(vec![]))).unwrap();
            assert_eq!(decoded, chunk, "{len} tokens");
        }
        assert_eq!(lock(&shared.contexts).len(), contexts, "a chunk computed a context");
        // A planned chunk is coded by the decode that needs it, before its own encode case.
        let other = &toks[300..364];
        shared.plan_chunk("syn_c", other.to_vec());
        let bytes = engine_encode(other).unwrap();
        assert_eq!(shared.decode_chunk(kernel, ("syn_c", &m), &bytes, 64, counted(&calls, Ok(vec![]))).unwrap(), other);
        assert_eq!(calls.load(Ordering::Relaxed), 0, "the engine was called");
        // What the engine refuses, and bytes no case encoded: the engine answers.
        let mut bad = toks[..70].to_vec();
        bad[5] = 5000;
        let want = engine_encode(&bad);
        assert!(want.is_err());
        assert_eq!(shared.encode_chunk(kernel, ("syn_c", &m), &bad, counted(&calls, want.clone())), want);
        let mut flipped = bytes.clone();
        flipped[3] ^= 0x10;
        let want = engine_decode(&flipped, 64);
        assert_eq!(shared.decode_chunk(kernel, ("syn_c", &m), &flipped, 64, counted(&calls, want.clone())), want);
        assert_eq!(calls.load(Ordering::Relaxed), 2);
    }
}
