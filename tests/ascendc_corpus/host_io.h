// Host side of the corpus kernels: GM buffers read from / written to DIR/<name>.bin, so the
// Python tests can feed random inputs and compare the outputs with numpy.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tikicpulib.h"

namespace corpus {

inline std::string& Dir() {
    static std::string dir = ".";
    return dir;
}

// n elements of T in GM, filled from DIR/name.bin.
template <typename T>
inline T* Load(const char* name, size_t n) {
    T* p = static_cast<T*>(AscendC::GmAlloc(n * sizeof(T)));
    std::string path = Dir() + "/" + name + ".bin";
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr || std::fread(p, sizeof(T), n, f) != n) {
        std::fprintf(stderr, "cannot read %zu elements from %s\n", n, path.c_str());
        std::exit(2);
    }
    std::fclose(f);
    return p;
}

template <typename T>
inline T* Alloc(size_t n) {
    return static_cast<T*>(AscendC::GmAlloc(n * sizeof(T)));
}

template <typename T>
inline void Save(const char* name, const T* p, size_t n) {
    std::string path = Dir() + "/" + name + ".bin";
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr || std::fwrite(p, sizeof(T), n, f) != n) {
        std::fprintf(stderr, "cannot write %s\n", path.c_str());
        std::exit(2);
    }
    std::fclose(f);
}

// argv: <case> <dir> [integers...]
struct Args {
    std::string which;
    long v[8] = {};
    Args(int argc, char** argv) {
        if (argc < 3) {
            std::fprintf(stderr, "usage: %s CASE DIR [N...]\n", argv[0]);
            std::exit(2);
        }
        which = argv[1];
        Dir() = argv[2];
        for (int i = 3; i < argc && i < 11; ++i) v[i - 3] = std::atol(argv[i]);
    }
};

}  // namespace corpus
