// `psgm merge`: the shard files of one psgm generate or psgm sample run
// (--shard i/n) joined into the file of the one-process run; the library
// call psgm::workflow::merge_shards checks and copies (docs/workflow.md).
#include "Command.hpp"
#include "OutputPolicy.hpp"

#include <psgm/core/Error.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/workflow/Merge.hpp>

#include <iostream>
#include <memory>

namespace {
// named: commands share a translation unit in unity builds (docs/portability.md §6)
namespace cmd_merge {

struct Options {
  std::vector<std::string> inputs;
  std::string output;
  bool overwrite = false;
  bool quiet = false;
};

psgm::cli::RegisterCommand merge_command(
    "merge", "join the shard files of psgm generate/sample --shard i/n into the file of one run",
    [](CLI::App& app) -> std::function<int()> {
      auto options = std::make_shared<Options>();
      app.add_option("shards", options->inputs, "the shard files, all n of them, in any order")->required();
      app.add_option("-o,--output", options->output, "data set file to write (HDF5)");
      app.add_flag("--overwrite", options->overwrite, "replace the output file if it exists");
      app.add_flag("-q,--quiet", options->quiet, "no summary on stdout");
      app.footer(
          "Examples:\n"
          "  for i in 0 1 2; do psgm generate --preset small --shard $i/3 -o part$i.h5; done\n"
          "  psgm merge part0.h5 part1.h5 part2.h5 -o small.h5     # = psgm generate --preset small -o small.h5\n"
          "See docs/workflow.md for shards and merge.");
      return [options]() {
        psgm::require(!options->output.empty(), "psgm merge: no output file; pass -o FILE.h5");
        psgm::cli::OutputPolicy policy("psgm merge", options->overwrite);
        for (auto const& input : options->inputs) policy.input(input, "shard file");
        policy.output(options->output, "output file", {psgm::io::dataset_format});
        policy.check();
        psgm::workflow::MergeOptions merge;
        merge.inputs = options->inputs;
        merge.output = options->output;
        merge.writer.overwrite = options->overwrite;
        auto const result = psgm::workflow::merge_shards(merge);
        if (!options->quiet)
          std::cout << "psgm merge: wrote " << result.samples << " samples from " << result.shards << " shards to "
                    << options->output << "\n  content sha256: "
                    << psgm::io::DatasetReader(options->output).content_sha256() << '\n';
        return 0;
      };
    });

}  // namespace cmd_merge
}  // namespace
