// Runs LLVMFuzzerTestOneInput without libFuzzer (g++ builds, CI): every file given, or every
// file in each directory given, then each file with every single bit flipped and cut at every
// length, so the ctest covers more than the seeds. Exit 0 when nothing aborted.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

size_t run_with_mutations(std::vector<uint8_t> input)
{
    size_t runs = 0;
    LLVMFuzzerTestOneInput(input.data(), input.size());
    ++runs;
    for (size_t len = 0; len < input.size(); ++len, ++runs) {
        std::vector<uint8_t> cut(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(len));
        LLVMFuzzerTestOneInput(cut.data(), cut.size());
    }
    for (size_t i = 0; i < input.size(); ++i) {
        for (int bit = 0; bit < 8; ++bit, ++runs) {
            input[i] ^= static_cast<uint8_t>(1u << bit);
            LLVMFuzzerTestOneInput(input.data(), input.size());
            input[i] ^= static_cast<uint8_t>(1u << bit);
        }
    }
    return runs;
}

}  // namespace

int main(int argc, char** argv)
{
    std::vector<std::filesystem::path> files;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg(argv[i]);
        if (std::filesystem::is_directory(arg)) {
            for (const auto& entry : std::filesystem::directory_iterator(arg))
                if (entry.is_regular_file()) files.push_back(entry.path());
        } else {
            files.push_back(arg);
        }
    }
    if (files.empty()) {
        std::fprintf(stderr, "usage: %s FILE_OR_DIR...\n(no input files found)\n", argv[0]);
        return 2;
    }
    size_t runs = 0;
    for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "cannot read %s\n", file.c_str());
            return 2;
        }
        runs += run_with_mutations({std::istreambuf_iterator<char>(in), {}});
    }
    std::printf("replayed %zu files, %zu runs, no invariant broken\n", files.size(), runs);
    return 0;
}
