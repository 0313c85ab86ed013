//! The page of `czip trace --html` in a real browser: headless Chromium
//! (Debian's `chromium`), driven over the DevTools protocol on
//! `--remote-debugging-pipe` (fd 3 in, fd 4 out, NUL-terminated JSON; no
//! websocket, no crate). For alice_ch1 the test checks that the page logs no
//! error (console, uncaught exception, CSP or network refusal), that it
//! holds one element per token once every chunk is painted, and that
//! hovering a token (a real mouse event) and focusing one (keyboard) show
//! its tooltip with its id, bits and top-5 predictions.
//!
//! Without chromium (`$CZIP_CHROMIUM`, else `/usr/bin/chromium`, else
//! `chromium` on PATH) the test prints SKIPPED and passes, unless `CI` is
//! set. Waiting for the browser is bounded (a hang fails with what was
//! awaited), never a timed assertion.

use crate::common;

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::io::{FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{czip, stderr};
use serde_json::{json, Value};

/// How long one answer of the browser may take before the test gives up.
const PATIENCE: Duration = Duration::from_secs(120);

fn chromium() -> Option<PathBuf> {
    let candidates = std::env::var_os("CZIP_CHROMIUM").map(PathBuf::from).into_iter().chain([PathBuf::from("/usr/bin/chromium")]);
    for c in candidates {
        if c.is_file() {
            return Some(c);
        }
    }
    let on_path = std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join("chromium")).find(|c| c.is_file()));
    if on_path.is_some() {
        return on_path;
    }
    let msg = "chromium not found (install Debian's chromium, or set CZIP_CHROMIUM)";
    if std::env::var_os("CI").is_some() {
        panic!("{msg}; CI requires it");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// A pipe whose both ends close on exec.
fn pipe() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0, "pipe2: {}", std::io::Error::last_os_error());
    (fds[0], fds[1])
}

/// A DevTools protocol session with one browser.
struct Cdp {
    child: Child,
    to: File,
    from: mpsc::Receiver<Value>,
    next_id: u64,
    /// Events received so far (every message without an id).
    events: Vec<Value>,
}

impl Cdp {
    fn launch(bin: &Path, profile: &Path, log: &Path) -> Cdp {
        let (in_r, in_w) = pipe(); // browser reads fd 3
        let (out_r, out_w) = pipe(); // browser writes fd 4
        let mut cmd = Command::new(bin);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1280,900",
            "--remote-debugging-pipe",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(log).unwrap());
        // SAFETY: only async-signal-safe calls (fcntl, dup2) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // Copies above 10 first, so that dup2 onto 3 and 4 cannot
                // overwrite the other end; the copies close on exec, 3 and 4 stay.
                let a = libc::fcntl(in_r, libc::F_DUPFD_CLOEXEC, 10);
                let b = libc::fcntl(out_w, libc::F_DUPFD_CLOEXEC, 10);
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("chromium starts");
        // SAFETY: the parent owns these descriptors and closes each once.
        let (to, mut from) = unsafe {
            libc::close(in_r);
            libc::close(out_w);
            (File::from_raw_fd(in_w), File::from_raw_fd(out_r))
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 65536];
            loop {
                let n = match from.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&chunk[..n]);
                while let Some(end) = buf.iter().position(|&b| b == 0) {
                    let msg: Vec<u8> = buf.drain(..=end).collect();
                    if let Ok(v) = serde_json::from_slice::<Value>(&msg[..end]) {
                        if tx.send(v).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Cdp { child, to, from: rx, next_id: 1, events: Vec::new() }
    }

    fn recv(&mut self, waiting_for: &str) -> Value {
        match self.from.recv_timeout(PATIENCE) {
            Ok(v) => v,
            Err(e) => panic!("chromium: no message while waiting for {waiting_for} ({e})"),
        }
    }

    /// Sends `method` (to `session` when given) and returns its result.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(0);
        self.to.write_all(&bytes).expect("write to chromium");
        loop {
            let v = self.recv(method);
            if v.get("id").and_then(Value::as_u64) == Some(id) {
                if let Some(e) = v.get("error") {
                    panic!("{method}: {e}");
                }
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    /// Waits for event `method` (one already received counts).
    fn wait_event(&mut self, method: &str) -> Value {
        if let Some(e) = self.events.iter().find(|e| e["method"] == method) {
            return e.clone();
        }
        loop {
            let v = self.recv(method);
            self.events.push(v.clone());
            if v["method"] == method {
                return v;
            }
        }
    }

    /// Evaluates `expr` in the page and returns its value.
    fn eval(&mut self, session: &str, expr: &str) -> Value {
        let r = self.call(Some(session), "Runtime.evaluate", json!({"expression": expr, "returnByValue": true, "awaitPromise": true}));
        if let Some(e) = r.get("exceptionDetails") {
            panic!("evaluating {expr}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Every error the page reported: console errors and assertions,
    /// uncaught exceptions, and the browser's own log errors (a refused
    /// resource, a CSP violation).
    fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| {
                let p = &e["params"];
                match e["method"].as_str()? {
                    "Runtime.exceptionThrown" => Some(format!("exception: {}", p["exceptionDetails"])),
                    "Runtime.consoleAPICalled" if matches!(p["type"].as_str(), Some("error" | "assert")) => Some(format!("console.{}: {}", p["type"], p["args"])),
                    "Log.entryAdded" if p["entry"]["level"] == "error" => Some(format!("log: {}", p["entry"])),
                    _ => None,
                }
            })
            .collect()
    }
}

impl Drop for Cdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tooltip's text once it is shown (asked a few times: the page
/// handles the event on its own turn).
fn tooltip(cdp: &mut Cdp, session: &str) -> String {
    for _ in 0..50 {
        let v = cdp.eval(session, "(() => { const t = document.getElementById('tip'); return t.hidden || getComputedStyle(t).display === 'none' ? null : t.textContent; })()");
        if let Some(s) = v.as_str() {
            return s.to_string();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the tooltip never showed");
}

/// Starts chromium on `page` and returns the session (attached, domains
/// enabled, page loaded).
fn open_page(bin: &Path, dir: &Path, page: &Path) -> (Cdp, String) {
    let mut cdp = Cdp::launch(bin, &dir.join("profile"), &dir.join("chromium.log"));
    let targets = cdp.call(None, "Target.getTargets", json!({}));
    let target = targets["targetInfos"].as_array().unwrap().iter().find(|t| t["type"] == "page").expect("a page target")["targetId"].clone();
    let session = cdp.call(None, "Target.attachToTarget", json!({"targetId": target, "flatten": true}))["sessionId"].as_str().unwrap().to_string();
    for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
        cdp.call(Some(&session), domain, json!({}));
    }
    cdp.events.clear();
    cdp.call(Some(&session), "Page.navigate", json!({"url": format!("file://{}", page.display())}));
    cdp.wait_event("Page.loadEventFired");
    (cdp, session)
}

/// A measurement, not a test (`cargo test --profile checked --test
/// trace_browser -- --ignored --nocapture`): the page of a 1 MB text (the
/// corpus texts repeated), its size, the script's start-up time, and the
/// slowest frame while scrolling through it all in 100 steps.
#[test]
#[ignore]
fn a_one_megabyte_page_stays_usable() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let Some(bin) = chromium() else { return };
    let d = common::scratch("trace-browser-big");
    let mut text = Vec::new();
    let corpus = golden.join("corpus");
    // The corpus's real texts (not the edge cases), repeated.
    let mut names: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with("edge_"))
        .collect();
    names.sort();
    while text.len() < 1 << 20 {
        for n in &names {
            let t = std::fs::read(n).unwrap();
            if std::str::from_utf8(&t).is_ok() {
                text.extend_from_slice(&t);
            }
        }
    }
    text.truncate(text.iter().take(1 << 20).rposition(|&b| b == b'\n').unwrap() + 1);
    let input = d.join("big.txt");
    std::fs::write(&input, &text).unwrap();
    let page = d.join("big.html");
    let started = std::time::Instant::now();
    let o = czip(&["trace", "-m", models.join("v001_eng.czm").to_str().unwrap(), "-L", "1", "--html", page.to_str().unwrap(), input.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    eprintln!("text {} bytes; page {} bytes, written in {:.1} s", text.len(), std::fs::metadata(&page).unwrap().len(), started.elapsed().as_secs_f64());
    let started = std::time::Instant::now();
    let (mut cdp, s) = open_page(&bin, &d, &page);
    eprintln!("loaded in {:.1} s (navigation to load event)", started.elapsed().as_secs_f64());
    let v = cdp.eval(&s, "[czipTrace.tokens, czipTrace.chunks, czipTrace.initMs, czipTrace.paintedChunks()]");
    eprintln!("tokens {}, chunks {}, script start-up {:.0} ms, chunks painted at load {}", v[0], v[1], v[2].as_f64().unwrap(), v[3]);
    let worst = cdp.eval(
        &s,
        "(async () => { const frame = () => new Promise(r => requestAnimationFrame(r)); let worst = 0; const H = document.documentElement.scrollHeight; \
          const steps = []; for (let k = 1; k <= 100; k++) { const t = performance.now(); window.scrollTo(0, H * k / 100); await frame(); await frame(); steps.push(performance.now() - t); } \
          steps.sort((a, b) => a - b); return [steps[99], steps[50], czipTrace.paintedChunks()]; })()",
    );
    eprintln!(
        "scroll steps (two frames each): slowest {:.0} ms, median {:.0} ms; chunks painted after scrolling {}",
        worst[0].as_f64().unwrap(),
        worst[1].as_f64().unwrap(),
        worst[2]
    );
    let errors = cdp.errors();
    assert!(errors.is_empty(), "{errors:?}");
}

/// Writes `docs/trace.png`, the README's picture (`cargo test --profile checked
/// --test integration -- --ignored --exact trace_browser::the_readme_screenshot`):
/// alice_ch1 at level 1, the text scrolled to its first paragraph and a
/// token hovered.
#[test]
#[ignore]
fn the_readme_screenshot() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let Some(bin) = chromium() else { return };
    let d = common::scratch("trace-browser-shot");
    let page = d.join("alice.html");
    let text = golden.join("corpus/alice_ch1.txt");
    let o = czip(&["trace", "-m", models.join("v001_eng.czm").to_str().unwrap(), "-L", "1", "--html", page.to_str().unwrap(), text.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (mut cdp, s) = open_page(&bin, &d, &page);
    let at = cdp.eval(
        &s,
        "(() => { window.scrollTo(0, 250); const e = document.querySelector('.t[data-i=\"118\"]'); const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()",
    );
    cdp.call(Some(&s), "Input.dispatchMouseEvent", json!({"type": "mouseMoved", "x": at[0], "y": at[1]}));
    tooltip(&mut cdp, &s);
    let shot = cdp.call(Some(&s), "Page.captureScreenshot", json!({"format": "png"}));
    let png = base64_decode(shot["data"].as_str().unwrap());
    std::fs::write(common::repo("docs/trace.png"), png).unwrap();
}

/// RFC 4648 base64 (padded), as DevTools sends binary data.
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for q in s.as_bytes().chunks(4) {
        let n = q.iter().filter(|&&c| c != b'=').enumerate().fold(0u32, |n, (k, &c)| n | u32::from(val(c)) << (18 - 6 * k));
        let bytes = q.iter().filter(|&&c| c != b'=').count() - 1;
        out.extend_from_slice(&n.to_be_bytes()[1..1 + bytes]);
    }
    out
}

#[test]
fn the_cost_map_works_in_chromium() {
    let (Some(models), Some(golden)) = (common::models_dir(), common::golden_dir()) else { return };
    let Some(bin) = chromium() else { return };
    let d = common::scratch("trace-browser");
    let text = golden.join("corpus/alice_ch1.txt");
    let model = models.join("v001_eng.czm");
    let page = d.join("alice.html");
    let o = czip(&["trace", "-m", model.to_str().unwrap(), "-L", "1", "--html", page.to_str().unwrap(), text.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let tokens = czip::Model::open(&model).unwrap().tokenizer().encode(&std::fs::read_to_string(&text).unwrap()).unwrap();

    let (mut cdp, session) = open_page(&bin, &d, &page);
    let s = session.as_str();
    assert_eq!(cdp.eval(s, "window.czipTrace && window.czipTrace.ready"), json!(true), "the page script did not finish: {:?}", cdp.errors());
    // Painting is lazy: the first screen is painted, not the whole text.
    let painted = cdp.eval(s, "czipTrace.paintedChunks()").as_u64().unwrap();
    let chunks = cdp.eval(s, "czipTrace.chunks").as_u64().unwrap();
    assert_eq!(chunks, 82);
    assert!(painted >= 1 && painted < chunks, "{painted} of {chunks} chunks painted at load");
    let n = cdp.eval(s, "czipTrace.renderAll(); document.querySelectorAll('#text .t').length").as_u64().unwrap();
    assert_eq!(n, tokens.len() as u64, "token elements");

    // Hover: a real mouse move onto token 100.
    let i = 100;
    let at = cdp.eval(
        s,
        &format!("(() => {{ const e = document.querySelector('.t[data-i=\"{i}\"]'); e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; }})()"),
    );
    cdp.call(Some(s), "Input.dispatchMouseEvent", json!({"type": "mouseMoved", "x": at[0], "y": at[1]}));
    let tip = tooltip(&mut cdp, s);
    let id = tokens[i];
    assert!(tip.contains(&format!(" id {id} · chunk 1 · position {}", i - 64)), "{tip}");
    assert!(tip.contains("bits") && tip.contains("top-5 predictions") && tip.contains("5."), "{tip}");

    // Keyboard focus on another token, away from the mouse.
    cdp.call(Some(s), "Input.dispatchMouseEvent", json!({"type": "mouseMoved", "x": 2, "y": 2}));
    let j = 3000;
    cdp.eval(s, &format!("document.querySelector('.t[data-i=\"{j}\"]').focus()"));
    let tip = tooltip(&mut cdp, s);
    assert!(tip.contains(&format!(" id {} · chunk {} · position {}", tokens[j], j / 64, j % 64)), "{tip}");

    let errors = cdp.errors();
    assert!(errors.is_empty(), "the page reported errors:\n{}", errors.join("\n"));

    // The error check itself: a page with a console error, an uncaught
    // exception and an image its CSP refuses is caught three times.
    let bad = d.join("bad.html");
    std::fs::write(
        &bad,
        "<!doctype html><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'\">\
         <img src=\"http://127.0.0.1:9/x.png\"><script>console.error('boom'); null.x;</script>",
    )
    .unwrap();
    cdp.events.clear();
    cdp.call(Some(s), "Page.navigate", json!({"url": format!("file://{}", bad.display())}));
    cdp.wait_event("Page.loadEventFired");
    let _ = cdp.eval(s, "1");
    let errors = cdp.errors();
    assert!(errors.iter().any(|e| e.starts_with("console.") && e.contains("boom")), "{errors:?}");
    assert!(errors.iter().any(|e| e.starts_with("exception:")), "{errors:?}");
    assert!(errors.iter().any(|e| e.starts_with("log:") && e.contains("Content Security Policy")), "{errors:?}");
    let _ = cdp.call(None, "Browser.close", json!({}));
}
