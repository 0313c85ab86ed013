// Writes a small czip-dump-1 file with the kit's DumpWriter (adapters/DUMPS.md),
// the way a GPU build writes what its kernels computed for one chunk:
//   czip-cpp-dump-example OUT.safetensors
// The values are made up (tests/integration/cpp_adapter_kit.rs reads them back); a real
// dump copies each stage's per-position rows out of the device buffers.

#include <iostream>

#include "czip_adapter.hpp"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: czip-cpp-dump-example OUT.safetensors\n";
        return 2;
    }
    try {
        czip::DumpWriter d("0123abcd", 6, "czip-cpp-dump-example 1.0.0");
        d.tokens({5, 7, 9});
        d.positions({0, 2});
        std::vector<int8_t> qkv = {-127, 0, 1, 127, -1, 2};  // 2 positions x 3
        d.stage(0, "qkv", 2, qkv);
        d.stage<int32_t>(0, "resid_attn", 2, {-70000, 70000});
        d.logits(2, {1, -2, 3, -4});
        d.cum(2, {1, 3, 4294967295u, 7});
        d.write(argv[1]);
    } catch (const std::exception& e) {
        std::cerr << "czip-cpp-dump-example: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
