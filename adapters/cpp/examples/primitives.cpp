// The kit's example adapter: the primitive ops of spec §1, written from the
// spec in C++, and `unsupported` for every other op (the kit answers that for
// ops it has no handler for).
//
// A CUDA team's harness has this shape: keep main(), replace the bodies of
// the handlers with calls into your kernels (copy the arguments to the
// device, launch, copy the answer back), add handlers for the ops you
// implement (vectors/README.md, "Operations"), and declare their features.
//
//   cmake -S adapters/cpp -B adapters/cpp/build && cmake --build adapters/cpp/build
//   czip-conformance run --impl cpp-example --suite core --allow-partial

#include <cstdint>
#include <limits>
#include <vector>

#include "czip_adapter.hpp"

namespace {

// clamp_i8(x): clamp(x, -127, 127). The range is symmetric: -128 never appears.
int32_t clamp_i8(int32_t x) { return x < -127 ? -127 : x > 127 ? 127 : x; }

// sra_rne_tte_s32(v, sh), 0 <= sh <= 31: the magnitude |v| (as u32, so that
// |i32::MIN| = 2^31) shifted right, rounded to nearest with ties to even;
// the sign of v put back. Rounding is therefore symmetric about zero.
int32_t sra_rne_tte_s32(int32_t v, uint32_t sh) {
    if (sh == 0) return v;
    uint32_t a = v < 0 ? 0u - uint32_t(v) : uint32_t(v);
    uint32_t q = a >> sh;
    uint32_t r = a & ((uint32_t(1) << sh) - 1);
    uint32_t h = uint32_t(1) << (sh - 1);
    if (r > h) q += 1;
    else if (r == h) q += q & 1;
    // q <= 2^30 for sh >= 1, so both signs fit in i32.
    return v < 0 ? -int32_t(q) : int32_t(q);
}

// The udiv rule on magnitudes (u64 so that 2r never overflows):
// q = floor(n/d), r = n - q d; 2r > d -> q+1; 2r = d -> q + (q & 1).
uint64_t rne_div(uint64_t n, uint64_t d) {
    uint64_t q = n / d, r = n - q * d;
    if (2 * r > d) q += 1;
    else if (2 * r == d) q += q & 1;
    return q;
}

// udiv_rne_tte_u32(n, d): d = 0 gives 0.
uint32_t udiv_rne_tte_u32(uint32_t n, uint32_t d) { return d == 0 ? 0 : uint32_t(rne_div(n, d)); }

// div_rne_tte_s32(n, d): d = 0 gives 0; magnitudes by the udiv rule, sign =
// sign(n) xor sign(d). The one quotient outside i32, i32::MIN / -1 = +2^31,
// saturates to i32::MAX (the spec does not say; the reference saturates).
int32_t div_rne_tte_s32(int32_t n, int32_t d) {
    if (d == 0) return 0;
    auto mag = [](int32_t x) { return x < 0 ? uint64_t(0) - uint64_t(int64_t(x)) : uint64_t(x); };
    uint64_t q = rne_div(mag(n), mag(d));
    bool negative = (n < 0) != (d < 0);
    int64_t s = negative ? -int64_t(q) : int64_t(q);
    if (s > std::numeric_limits<int32_t>::max()) return std::numeric_limits<int32_t>::max();
    if (s < std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::min();
    return int32_t(s);
}

// isqrt32(x): floor(sqrt(x)) by the digit-by-digit restoring method, two
// bits of the result per step; every intermediate stays below 2^32.
uint32_t isqrt32(uint32_t x) {
    uint32_t rem = x, root = 0, bit = uint32_t(1) << 30;
    while (bit > rem) bit >>= 2;
    while (bit != 0) {
        if (rem >= root + bit) {
            rem -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    return root;
}

// argmax(xs): the index of the maximum; ties go to the smallest index.
size_t argmax(const std::vector<int64_t>& xs) {
    size_t best = 0;
    for (size_t i = 1; i < xs.size(); ++i)
        if (xs[i] > xs[best]) best = i;
    return best;
}

}  // namespace

int main() {
    using czip::json;
    czip::Adapter a("cpp-example", "1.0.0", {"core"});
    a.on("clamp_i8", [](const json& args) { return json{{"result", clamp_i8(czip::arg_i32(args, "x"))}}; });
    a.on("sra_rne_tte_s32", [](const json& args) {
        return json{{"result", sra_rne_tte_s32(czip::arg_i32(args, "v"), uint32_t(czip::arg_int(args, "sh", 0, 31)))}};
    });
    a.on("udiv_rne_tte_u32", [](const json& args) {
        return json{{"result", udiv_rne_tte_u32(czip::arg_u32(args, "n"), czip::arg_u32(args, "d"))}};
    });
    a.on("div_rne_tte_s32", [](const json& args) {
        return json{{"result", div_rne_tte_s32(czip::arg_i32(args, "n"), czip::arg_i32(args, "d"))}};
    });
    a.on("isqrt32", [](const json& args) { return json{{"result", isqrt32(czip::arg_u32(args, "x"))}}; });
    a.on("argmax", [](const json& args) {
        std::vector<int64_t> xs = czip::arg_array(args, "xs");
        for (int64_t x : xs)
            if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max())
                throw czip::OpError("argument \"xs\": an element is outside i32");
        if (xs.empty()) throw czip::OpError("argmax of an empty array");
        return json{{"result", argmax(xs)}};
    });
    return a.serve();
}
