// czip_adapter.hpp — a header-only kit for CZIP conformance adapters in C++.
//
//   * the adapter protocol of adapters/PROTOCOL.md (version 1): the `hello`
//     handshake, one JSON request per stdin line, one JSON answer per stdout
//     line, `error` and `unsupported` answers; stdout carries protocol lines
//     only (fd 1 is pointed at stderr, so a library that prints cannot break
//     the protocol);
//   * argument decoding as vectors/README.md "Values" defines it: integers as
//     JSON numbers or decimal strings, arrays plain or packed
//     ({dtype, len, hex, sha256}, little-endian);
//   * a safetensors writer, and the tensor-dump layout of adapters/DUMPS.md
//     (`czip-dump-1`) on top of it.
//
// JSON: nlohmann/json (Debian: nlohmann-json3-dev). C++17.
#pragma once

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

namespace czip {

using json = nlohmann::json;

// ---------------------------------------------------------------------------
// Answers other than a result

/// Throw from an op: answered as `{"error": what}` — the implementation
/// refuses (bad arguments, malformed input). The adapter keeps serving.
struct OpError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Throw from an op: answered as `{"unsupported": what}` — the implementation
/// cannot do this at all (not for bad arguments).
struct Unsupported : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// ---------------------------------------------------------------------------
// Arguments (vectors/README.md, "Values")

/// Integer argument `name` of `args`, which must lie in [lo, hi]: a JSON
/// integer or a decimal string (values beyond ±2^53 arrive as strings).
inline int64_t arg_int(const json& args, const char* name, int64_t lo, int64_t hi) {
    if (!args.contains(name)) throw OpError(std::string("missing argument \"") + name + "\"");
    const json& v = args.at(name);
    int64_t x = 0;
    if (v.is_number_integer()) {
        if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
            throw OpError(std::string("argument \"") + name + "\": out of range");
        x = v.get<int64_t>();
    } else if (v.is_string()) {
        const std::string& s = v.get_ref<const std::string&>();
        size_t used = 0;
        try {
            x = std::stoll(s, &used, 10);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != s.size()) throw OpError(std::string("argument \"") + name + "\": expected an integer");
    } else {
        throw OpError(std::string("argument \"") + name + "\": expected an integer");
    }
    if (x < lo || x > hi)
        throw OpError(std::string("argument \"") + name + "\": " + std::to_string(x) + " is outside " + std::to_string(lo) + ".." +
                      std::to_string(hi));
    return x;
}

inline int32_t arg_i32(const json& args, const char* name) {
    return int32_t(arg_int(args, name, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()));
}
inline uint32_t arg_u32(const json& args, const char* name) {
    return uint32_t(arg_int(args, name, 0, std::numeric_limits<uint32_t>::max()));
}

/// Integer array argument `name`: a JSON array of integers, or a packed
/// object {"dtype": "i8"|"i16"|"i32"|"u32", "len": N, "hex": "…"}.
inline std::vector<int64_t> arg_array(const json& args, const char* name) {
    if (!args.contains(name)) throw OpError(std::string("missing argument \"") + name + "\"");
    const json& v = args.at(name);
    std::vector<int64_t> out;
    if (v.is_array()) {
        json wrap;
        for (size_t i = 0; i < v.size(); ++i) {
            wrap["x"] = v[i];
            out.push_back(arg_int(wrap, "x", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()));
        }
        return out;
    }
    if (!v.is_object() || !v.contains("dtype") || !v.contains("hex"))
        throw OpError(std::string("argument \"") + name + "\": expected an array or a packed {dtype, hex} object");
    const std::string dtype = v.at("dtype").get<std::string>();
    const std::string hex = v.at("hex").get<std::string>();
    int width = dtype == "i8" ? 1 : dtype == "i16" ? 2 : (dtype == "i32" || dtype == "u32") ? 4 : 0;
    if (width == 0) throw OpError(std::string("argument \"") + name + "\": unknown dtype " + dtype);
    if (hex.size() % (2 * width) != 0) throw OpError(std::string("argument \"") + name + "\": hex length is not a whole number of elements");
    auto nibble = [&](char c) -> unsigned {
        if (c >= '0' && c <= '9') return unsigned(c - '0');
        if (c >= 'a' && c <= 'f') return unsigned(c - 'a' + 10);
        if (c >= 'A' && c <= 'F') return unsigned(c - 'A' + 10);
        throw OpError(std::string("argument \"") + name + "\": hex holds a non-hex character");
    };
    for (size_t at = 0; at < hex.size(); at += 2 * width) {
        uint32_t u = 0;
        for (int b = 0; b < width; ++b) u |= uint32_t(nibble(hex[at + 2 * b]) << 4 | nibble(hex[at + 2 * b + 1])) << (8 * b);
        int64_t x = dtype == "u32" ? int64_t(u) : width == 1 ? int64_t(int8_t(u)) : width == 2 ? int64_t(int16_t(u)) : int64_t(int32_t(u));
        out.push_back(x);
    }
    if (v.contains("len") && v.at("len").get<uint64_t>() != out.size())
        throw OpError(std::string("argument \"") + name + "\": len does not match hex");
    return out;
}

/// An integer answer: a JSON number, or a decimal string beyond ±2^53.
inline json int_out(int64_t x) {
    const int64_t limit = int64_t(1) << 53;
    if (x > limit || x < -limit) return json(std::to_string(x));
    return json(x);
}

// ---------------------------------------------------------------------------
// The protocol loop

/// An adapter: register ops with `on`, then `serve()` from main.
class Adapter {
  public:
    using Op = std::function<json(const json& args)>;

    /// Where the runner's `hello` says models, vectors and corpus texts are.
    struct Dirs {
        std::string models, vectors, corpus;
    };

    Adapter(std::string name, std::string version, std::vector<std::string> features)
        : name_(std::move(name)), version_(std::move(version)), features_(std::move(features)) {}

    /// Answers `op` with `fn` (its result object); `fn` throws OpError or Unsupported.
    void on(const std::string& op, Op fn) { ops_[op] = std::move(fn); }

    const Dirs& dirs() const { return dirs_; }

    /// Serves requests from stdin until EOF; returns the exit status (0).
    /// Protocol lines go to the original stdout; fd 1 becomes stderr.
    int serve() {
        int proto_fd = dup(1);
        if (proto_fd < 0 || dup2(2, 1) < 0) {
            std::cerr << "czip adapter: cannot set up stdout\n";
            return 1;
        }
        FILE* proto = fdopen(proto_fd, "w");
        if (proto == nullptr) return 1;
        std::string line;
        while (std::getline(std::cin, line)) {
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            std::string answer = handle(line).dump(-1, ' ', false, json::error_handler_t::replace);
            std::fputs(answer.c_str(), proto);
            std::fputc('\n', proto);
            std::fflush(proto);
        }
        std::fclose(proto);
        return 0;
    }

    /// One request line → one answer (never throws).
    json handle(const std::string& line) {
        json id = nullptr;
        try {
            json req = json::parse(line);
            if (!req.is_object()) return json{{"id", nullptr}, {"error", "a request is a JSON object"}};
            if (req.contains("id")) id = req["id"];
            if (!req.contains("op") || !req["op"].is_string()) return json{{"id", id}, {"error", "request has no string \"op\""}};
            const std::string op = req["op"];
            json args = req.contains("args") && !req["args"].is_null() ? req["args"] : json::object();
            if (!args.is_object()) return json{{"id", id}, {"error", "\"args\" is not an object"}};
            if (op == "hello") return json{{"id", id}, {"result", hello(args)}};
            auto it = ops_.find(op);
            if (it == ops_.end()) return json{{"id", id}, {"unsupported", "unknown op '" + op + "'"}};
            return json{{"id", id}, {"result", it->second(args)}};
        } catch (const Unsupported& e) {
            return json{{"id", id}, {"unsupported", e.what()}};
        } catch (const std::exception& e) {  // OpError, JSON type errors, anything else: refuse and keep serving
            return json{{"id", id}, {"error", e.what()}};
        }
    }

  private:
    json hello(const json& args) {
        if (!args.contains("protocol") || args["protocol"] != 1) throw OpError("this adapter speaks protocol 1");
        auto dir = [&](const char* k) { return args.contains(k) && args[k].is_string() ? args[k].get<std::string>() : std::string(); };
        dirs_ = Dirs{dir("models_dir"), dir("vectors_dir"), dir("corpus_dir")};
        return json{{"name", name_}, {"version", version_}, {"features", features_}};
    }

    std::string name_, version_;
    std::vector<std::string> features_;
    std::map<std::string, Op> ops_;
    Dirs dirs_;
};

// ---------------------------------------------------------------------------
// safetensors

/// A safetensors file: 8-byte little-endian header length, the JSON header
/// (`{"NAME": {"dtype", "shape", "data_offsets": [begin, end]}, …,
/// "__metadata__": {string: string}}`, space-padded to a multiple of 8),
/// then the tensors' little-endian bytes back to back.
class SafetensorsWriter {
  public:
    /// Adds a tensor of raw little-endian bytes (`dtype`: "I8", "I16", "I32", "U32", …).
    void add_raw(const std::string& name, const std::string& dtype, std::vector<uint64_t> shape, std::vector<uint8_t> bytes) {
        uint64_t begin = data_.size();
        data_.insert(data_.end(), bytes.begin(), bytes.end());
        header_[name] = json{{"dtype", dtype}, {"shape", shape}, {"data_offsets", {begin, uint64_t(data_.size())}}};
    }

    template <typename T>
    void add(const std::string& name, std::vector<uint64_t> shape, const std::vector<T>& values) {
        uint64_t count = 1;
        for (uint64_t d : shape) count *= d;
        if (count != values.size()) throw std::invalid_argument("tensor " + name + ": shape does not match the value count");
        std::vector<uint8_t> bytes;
        bytes.reserve(values.size() * sizeof(T));
        for (T v : values) {
            auto u = static_cast<std::make_unsigned_t<T>>(v);
            for (size_t b = 0; b < sizeof(T); ++b) bytes.push_back(uint8_t(u >> (8 * b)));
        }
        add_raw(name, dtype_of<T>(), std::move(shape), std::move(bytes));
    }

    void metadata(const std::string& key, const std::string& value) { header_["__metadata__"][key] = value; }

    /// Writes the file; throws std::runtime_error naming the path on failure.
    void write(const std::string& path) const {
        std::string head = header_.dump();
        while ((8 + head.size()) % 8 != 0) head.push_back(' ');
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        uint64_t n = head.size();
        for (int b = 0; b < 8; ++b) f.put(char(uint8_t(n >> (8 * b))));
        f.write(head.data(), std::streamsize(head.size()));
        f.write(reinterpret_cast<const char*>(data_.data()), std::streamsize(data_.size()));
        f.close();
        if (!f) throw std::runtime_error("cannot write " + path);
    }

  private:
    template <typename T>
    static const char* dtype_of() {
        static_assert(std::is_integral_v<T>, "integer tensors only");
        if constexpr (std::is_same_v<T, int8_t>) return "I8";
        else if constexpr (std::is_same_v<T, uint8_t>) return "U8";
        else if constexpr (std::is_same_v<T, int16_t>) return "I16";
        else if constexpr (std::is_same_v<T, uint16_t>) return "U16";
        else if constexpr (std::is_same_v<T, int32_t>) return "I32";
        else if constexpr (std::is_same_v<T, uint32_t>) return "U32";
        else if constexpr (std::is_same_v<T, int64_t>) return "I64";
        else return "U64";
    }

    json header_ = json::object();
    std::vector<uint8_t> data_;
};

/// A tensor dump of one coded chunk (adapters/DUMPS.md, `czip-dump-1`):
/// `tokens` (I32 [n]), optionally `positions` (I32 [m]), then per layer L
/// `layer{L}.{stage}` (I8, or I32 for resid_attn / resid_ffn) with one row
/// per dumped position, `logits` (I32 [m, V]) and `cum` (U32 [m, V]).
class DumpWriter {
  public:
    /// `model_hash`: 8 lowercase hex digits (the model's content hash);
    /// `chunk_log2`: k of the chunk length 2^k; `producer`: your build's name.
    DumpWriter(const std::string& model_hash, int chunk_log2, const std::string& producer) {
        st_.metadata("format", "czip-dump-1");
        st_.metadata("model_hash", model_hash);
        st_.metadata("chunk_log2", std::to_string(chunk_log2));
        st_.metadata("producer", producer);
    }

    void tokens(const std::vector<int32_t>& t) { st_.add("tokens", {t.size()}, t); }
    /// The chunk positions the per-position tensors hold (omit for all of them).
    void positions(const std::vector<int32_t>& p) { st_.add("positions", {p.size()}, p); }
    /// `layer{layer}.{stage}`, `rows` positions × `values.size() / rows`.
    template <typename T>
    void stage(int layer, const std::string& stage, uint64_t rows, const std::vector<T>& values) {
        st_.add("layer" + std::to_string(layer) + "." + stage, {rows, rows ? values.size() / rows : 0}, values);
    }
    void logits(uint64_t rows, const std::vector<int32_t>& v) { st_.add("logits", {rows, rows ? v.size() / rows : 0}, v); }
    void cum(uint64_t rows, const std::vector<uint32_t>& v) { st_.add("cum", {rows, rows ? v.size() / rows : 0}, v); }
    void metadata(const std::string& key, const std::string& value) { st_.metadata(key, value); }
    void write(const std::string& path) const { st_.write(path); }

  private:
    SafetensorsWriter st_;
};

}  // namespace czip
