//! Runs a LoRaWAN payload codec made by `aecodec export --format lorawan-js` as ChirpStack
//! v4 runs payload codecs, and holds it to its codec definition:
//!
//! - the engine and version ChirpStack's master builds (rquickjs 0.12.1, QuickJS), with
//!   ChirpStack's wrapper per uplink: a new runtime and full context, the module loader
//!   with the `buffer` module (and its `base64-js` and `ieee754`) it gives every codec, an
//!   interrupt after the execution limit (100 ms by default), the input object with
//!   `bytes`, `fPort`, `recvTime` (a JS Date) and `variables`;
//! - both forms ChirpStack has loaded codecs in: as an ES module (`import { Buffer } from
//!   "buffer"; … export default decodeUplink(chirpstack_input);`, ChirpStack 4.17 and
//!   later) and as a sloppy-mode script (`…; decodeUplink(chirpstack_input)`, with
//!   `Buffer` a global, the versions before);
//! - every example of the definition (YAML) gives its output (numbers equal as f64; the
//!   first sample's date that `recvTime` adds is left out of the comparison);
//! - the time per uplink, from the runtime's creation to the result, as ChirpStack pays
//!   it: median and maximum over every example and round, and the uplinks interrupted.
//!
//! The `buffer`, `base64-js` and `ieee754` sources are the npm packages' (installed by
//! `npm ci --prefix tests/js`), wrapped here as ES modules; ChirpStack vendors the same
//! packages as modules.
//!
//! Usage: `aecodec-chirpstack-js CODEC.js DEFINITION.yaml [--rounds N] [--limit-ms MS]
//! [--node-modules DIR] [--allow-slow]`. Exit status 0 when every example gives its
//! output and no uplink was interrupted (`--allow-slow`: interrupts are reported only),
//! 1 otherwise, 2 for bad usage or unreadable files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use rquickjs::loader::{BuiltinLoader, BuiltinResolver};
use rquickjs::{CatchResultExt, Context, IntoJs, Module, Object, Runtime};
use serde_json::Value;

/// The modules ChirpStack's loader serves, as ES module sources.
struct Vendor {
    base64: String,
    ieee754: String,
    buffer: String,
}

/// A CommonJS file as an ES module: `prelude` first (imports, a `require`), the file
/// with `exports` and `module` defined, then each of `names` exported.
fn es_module(prelude: &str, source: &str, names: &[&str]) -> String {
    let mut s =
        format!("{prelude}\nvar exports = {{}};\nvar module = {{ exports: exports }};\n{source}\n");
    // Under other local names: the file declares its own (`function Buffer`).
    for n in names {
        s.push_str(&format!(
            "const __exported_{n} = module.exports.{n};\nexport {{ __exported_{n} as {n} }};\n"
        ));
    }
    s
}

impl Vendor {
    fn load(node_modules: &Path) -> Result<Vendor, String> {
        let read = |p: &str| {
            std::fs::read_to_string(node_modules.join(p)).map_err(|e| {
                format!(
                    "{}: {e} (run `npm ci --prefix tests/js`, or give --node-modules)",
                    node_modules.join(p).display()
                )
            })
        };
        Ok(Vendor {
            base64: es_module(
                "",
                &read("base64-js/index.js")?,
                &["byteLength", "toByteArray", "fromByteArray"],
            ),
            ieee754: es_module("", &read("ieee754/index.js")?, &["read", "write"]),
            buffer: es_module(
                "import * as base64js from \"base64-js\";\nimport * as ieee754js from \"ieee754\";\n\
                 var require = function (name) { return name === \"base64-js\" ? base64js : ieee754js; };",
                &read("buffer/index.js")?,
                &["Buffer", "SlowBuffer", "INSPECT_MAX_BYTES", "kMaxLength"],
            ),
        })
    }
}

/// How ChirpStack loads the codec.
#[derive(Debug, Clone, Copy)]
enum Form {
    /// ChirpStack 4.17 and later: the codec inside an ES module.
    Module,
    /// Before: the codec as a sloppy-mode script, `Buffer` a global.
    Script,
}

/// One uplink as ChirpStack decodes it: the result as JSON, or the error ChirpStack
/// would log; and whether the interrupt stopped it.
fn decode(
    form: Form,
    vendor: &Vendor,
    codec: &str,
    bytes: &[u8],
    fport: u8,
    recv_time: DateTime<Utc>,
    limit: Duration,
) -> (Result<String, String>, bool) {
    let interrupted = Arc::new(AtomicBool::new(false));
    let result = (|| -> Result<String, String> {
        let deadline = Instant::now() + limit;
        let rt = Runtime::new().map_err(|e| e.to_string())?;
        let flag = interrupted.clone();
        rt.set_interrupt_handler(Some(Box::new(move || {
            let stop = Instant::now() > deadline;
            if stop {
                flag.store(true, Ordering::Relaxed);
            }
            stop
        })));
        let resolver = BuiltinResolver::default()
            .with_module("base64-js")
            .with_module("ieee754")
            .with_module("buffer");
        let loader = BuiltinLoader::default()
            .with_module("base64-js", vendor.base64.as_str())
            .with_module("ieee754", vendor.ieee754.as_str())
            .with_module("buffer", vendor.buffer.as_str());
        rt.set_loader(resolver, loader);
        let ctx = Context::full(&rt).map_err(|e| e.to_string())?;
        ctx.with(|ctx| -> Result<String, String> {
            let js = |e: rquickjs::Error| e.to_string();
            let input = Object::new(ctx.clone()).map_err(js)?;
            input.set("bytes", bytes.to_vec().into_js(&ctx).map_err(js)?).map_err(js)?;
            input.set("fPort", fport.into_js(&ctx).map_err(js)?).map_err(js)?;
            input.set("recvTime", recv_time.into_js(&ctx).map_err(js)?).map_err(js)?;
            input.set("variables", Object::new(ctx.clone()).map_err(js)?).map_err(js)?;
            ctx.globals().set("chirpstack_input", input).map_err(js)?;
            let res: Object = match form {
                Form::Module => {
                    let source = format!(
                        "\n        import {{ Buffer }} from \"buffer\";\n\n        {codec}\n\n        export default decodeUplink(chirpstack_input);\n        "
                    );
                    let module = Module::declare(ctx.clone(), "main", source)
                        .catch(&ctx)
                        .map_err(|e| format!("JS error: {e}"))?;
                    let (module, promise) = module
                        .eval()
                        .catch(&ctx)
                        .map_err(|e| format!("JS error: {e}"))?;
                    promise
                        .finish::<()>()
                        .catch(&ctx)
                        .map_err(|e| format!("JS error: {e}"))?;
                    module
                        .get("default")
                        .catch(&ctx)
                        .map_err(|e| format!("JS error: {e}"))?
                }
                Form::Script => {
                    let buffer = Module::declare(
                        ctx.clone(),
                        "b",
                        "import { Buffer } from \"buffer\";\nexport { Buffer }\n",
                    )
                    .map_err(js)?;
                    let (buffer, promise) = buffer.eval().catch(&ctx).map_err(|e| format!("JS error: {e}"))?;
                    promise.finish::<()>().catch(&ctx).map_err(|e| format!("JS error: {e}"))?;
                    let class: rquickjs::Function = buffer.get("Buffer").map_err(js)?;
                    ctx.globals().set("Buffer", class).map_err(js)?;
                    let source = format!("\n        {codec}\n\n        decodeUplink(chirpstack_input)\n        ");
                    let mut options = rquickjs::context::EvalOptions::default();
                    options.strict = false;
                    ctx.eval_with_options(source, options)
                        .catch(&ctx)
                        .map_err(|e| format!("JS error: {e}"))?
                }
            };
            let json = ctx
                .json_stringify(res)
                .catch(&ctx)
                .map_err(|e| format!("JS error: {e}"))?
                .ok_or("decodeUplink returned nothing JSON can hold")?;
            json.to_string().map_err(js)
        })
    })();
    let stopped = interrupted.load(Ordering::Relaxed);
    (result, stopped)
}

/// Where `got` differs from `want` (numbers compared as f64), or `None`.
fn differ(want: &Value, got: &Value, path: &str) -> Option<String> {
    match (want, got) {
        (Value::Number(a), Value::Number(b)) => {
            (a.as_f64() != b.as_f64()).then(|| format!("{path}: {a} vs {b}"))
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!("{path}: {} values vs {}", a.len(), b.len()));
            }
            a.iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| differ(x, y, &format!("{path}[{i}]")))
        }
        (Value::Object(a), Value::Object(b)) => {
            if let Some(k) = a.keys().find(|k| !b.contains_key(*k)) {
                return Some(format!("{path}.{k}: missing"));
            }
            if let Some(k) = b.keys().find(|k| !a.contains_key(*k)) {
                return Some(format!("{path}.{k}: not in the example"));
            }
            a.iter()
                .find_map(|(k, x)| differ(x, &b[k], &format!("{path}.{k}")))
        }
        _ => (want != got).then(|| format!("{path}: {want} vs {got}")),
    }
}

struct Args {
    codec: PathBuf,
    definition: PathBuf,
    rounds: usize,
    limit: Duration,
    node_modules: PathBuf,
    allow_slow: bool,
}

fn args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut positional = Vec::new();
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut a = Args {
        codec: PathBuf::new(),
        definition: PathBuf::new(),
        rounds: 1,
        limit: Duration::from_millis(100),
        node_modules: here.join("../js/node_modules"),
        allow_slow: false,
    };
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--rounds" => {
                a.rounds = value("--rounds")?
                    .parse()
                    .map_err(|_| "--rounds takes a whole number of rounds, 1 or more")?;
                if a.rounds == 0 {
                    return Err("--rounds takes a whole number of rounds, 1 or more".into());
                }
            }
            "--limit-ms" => {
                let ms: u64 = value("--limit-ms")?
                    .parse()
                    .map_err(|_| "--limit-ms takes whole milliseconds")?;
                a.limit = Duration::from_millis(ms);
            }
            "--node-modules" => a.node_modules = PathBuf::from(value("--node-modules")?),
            "--allow-slow" => a.allow_slow = true,
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => positional.push(PathBuf::from(arg)),
        }
    }
    let [codec, definition] = <[PathBuf; 2]>::try_from(positional)
        .map_err(|_| "give the codec (.js) and its definition (.yaml)".to_string())?;
    a.codec = codec;
    a.definition = definition;
    Ok(a)
}

/// One example of a codec definition.
struct Example {
    description: String,
    fport: u8,
    bytes: Vec<u8>,
    output: Value,
}

/// The examples of a definition.
fn examples(yaml: &str) -> Result<Vec<Example>, String> {
    let doc: Value = serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
    let list = doc["uplinkDecoder"]["examples"]
        .as_array()
        .ok_or("no uplinkDecoder.examples")?;
    list.iter()
        .enumerate()
        .map(|(i, e)| {
            let fport = e["input"]["fPort"]
                .as_u64()
                .and_then(|p| u8::try_from(p).ok())
                .ok_or(format!("example {}: input.fPort is not a port", i + 1))?;
            let bytes = e["input"]["bytes"]
                .as_array()
                .ok_or(format!("example {}: input.bytes is not a list", i + 1))?
                .iter()
                .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect::<Option<Vec<u8>>>()
                .ok_or(format!("example {}: input.bytes holds a non-byte", i + 1))?;
            Ok(Example {
                description: e["description"].as_str().unwrap_or("").to_string(),
                fport,
                bytes,
                output: e["output"].clone(),
            })
        })
        .collect()
}

fn main() -> ExitCode {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("aecodec-chirpstack-js: {e}\nusage: aecodec-chirpstack-js CODEC.js DEFINITION.yaml [--rounds N] [--limit-ms MS] [--node-modules DIR] [--allow-slow]");
            return ExitCode::from(2);
        }
    };
    let loaded = (|| -> Result<_, String> {
        let codec =
            std::fs::read_to_string(&a.codec).map_err(|e| format!("{}: {e}", a.codec.display()))?;
        let yaml = std::fs::read_to_string(&a.definition)
            .map_err(|e| format!("{}: {e}", a.definition.display()))?;
        let ex = examples(&yaml).map_err(|e| format!("{}: {e}", a.definition.display()))?;
        Ok((codec, ex, Vendor::load(&a.node_modules)?))
    })();
    let (codec, examples, vendor) = match loaded {
        Ok(x) => x,
        Err(e) => {
            eprintln!("aecodec-chirpstack-js: {e}");
            return ExitCode::from(2);
        }
    };
    let recv_time = Utc
        .with_ymd_and_hms(2026, 12, 7, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let mut ok = true;
    println!("codec: {} characters", codec.chars().count());
    for form in [Form::Module, Form::Script] {
        let (mut equal, mut interrupted) = (0, 0);
        let mut times = Vec::with_capacity(examples.len() * a.rounds);
        for round in 0..a.rounds {
            for Example {
                description,
                fport,
                bytes,
                output: want,
            } in &examples
            {
                let start = Instant::now();
                let (out, stopped) =
                    decode(form, &vendor, &codec, bytes, *fport, recv_time, a.limit);
                times.push(start.elapsed());
                interrupted += usize::from(stopped);
                // Checked once; an uplink the interrupt stopped is counted as such.
                if round > 0 || stopped {
                    continue;
                }
                let verdict = out.and_then(|json| {
                    let mut got: Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
                    if let Some(data) = got.get_mut("data").and_then(Value::as_object_mut) {
                        data.remove("firstSampleTime");
                    }
                    differ(want, &got, "output").map_or(Ok(()), Err)
                });
                match verdict {
                    Ok(()) => equal += 1,
                    Err(e) => {
                        ok = false;
                        eprintln!("FAIL {form:?} {description}: {e}");
                    }
                }
            }
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let median = times.get(times.len() / 2).copied().unwrap_or_default();
        let max = times.last().copied().unwrap_or_default();
        println!(
            "{}: {equal} of {} examples equal; per uplink median {:.2} ms, max {:.2} ms over {} uplinks; {interrupted} interrupted at {} ms",
            match form {
                Form::Module => "chirpstack-module",
                Form::Script => "chirpstack-script",
            },
            examples.len(),
            ms(median),
            ms(max),
            times.len(),
            a.limit.as_millis()
        );
        if interrupted > 0 && !a.allow_slow {
            ok = false;
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
