// psgm::workflow::merge_shards: checks, then a streamed copy of the shards
// in order (docs/workflow.md, "Shards"). Host-only: file I/O.
#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/workflow/Merge.hpp>
#include <psgm/workflow/Shard.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

namespace psgm::workflow {

namespace {

/// Attributes a shard has of its own, and the run record its writer adds:
/// not compared; the merged file's record combines the shards'.
std::set<std::string> const& per_shard_attributes() {
  static std::set<std::string> const names{shard_attribute,
                                           shard_first_sample_attribute,
                                           shard_total_samples_attribute,
                                           "wall_time_s",
                                           "samples_per_second",
                                           "nfe",
                                           "nfe_mean_per_sample",
                                           "network_evaluations",
                                           "num_failed"};
  return names;
}

bool is_compared(std::string const& name) {
  if (per_shard_attributes().count(name)) return false;
  for (char const* reserved : io::dataset_reserved_attributes)
    if (name == reserved) return false;
  return true;
}

bool same_path(std::string const& a, std::string const& b) {
  std::error_code ec;
  if (std::filesystem::exists(a, ec) && std::filesystem::exists(b, ec)) return std::filesystem::equivalent(a, b, ec);
  return std::filesystem::weakly_canonical(a, ec) == std::filesystem::weakly_canonical(b, ec);
}

struct ShardFile {
  std::unique_ptr<io::DatasetReader> reader;
  Shard shard;
  std::int64_t first = 0, total = 0;
  std::string const& path() const { return reader->info().path; }
};

}  // namespace

MergeResult merge_shards(MergeOptions const& options) {
  ScopedRegion region("psgm::workflow::merge_shards");
  require(!options.inputs.empty(), "merge: no shard files");
  require(!options.output.empty(), "merge: no output file");
  for (auto const& input : options.inputs)
    require(!same_path(input, options.output), "merge: the output '", options.output, "' is also an input");

  // ---- every input is a shard of the same n
  std::vector<ShardFile> files;
  for (auto const& path : options.inputs) {
    ShardFile f;
    f.reader = std::make_unique<io::DatasetReader>(path);
    auto const& a = f.reader->info().attributes;
    require(a.contains(shard_attribute), "merge: '", path, "' is not a shard (no attribute '", shard_attribute,
            "'): it holds a whole run; merge joins the files of psgm generate/sample --shard i/n");
    try {
      f.shard = Shard::parse(a.get_string(shard_attribute));
    } catch (InvalidArgument const& e) {
      throw InvalidArgument("merge: '" + path + "': " + e.what());
    }
    f.first = a.get_int(shard_first_sample_attribute);
    f.total = a.get_int(shard_total_samples_attribute);
    files.push_back(std::move(f));
  }
  std::int64_t const n = files.front().shard.count;
  for (auto const& f : files)
    require(f.shard.count == n, "merge: '", f.path(), "' is shard ", f.shard.to_string(), " but '",
            files.front().path(), "' is shard ", files.front().shard.to_string(), ": shards of different splits");
  std::sort(files.begin(), files.end(), [](ShardFile const& a, ShardFile const& b) { return a.shard.index < b.shard.index; });
  for (std::size_t k = 1; k < files.size(); ++k)
    require(files[k].shard.index != files[k - 1].shard.index, "merge: '", files[k - 1].path(), "' and '",
            files[k].path(), "' are both shard ", files[k].shard.to_string(), ": overlapping shards");
  std::vector<std::string> missing;
  for (std::int64_t i = 0, k = 0; i < n; ++i) {
    if (k < std::int64_t(files.size()) && files[std::size_t(k)].shard.index == i)
      ++k;
    else
      missing.push_back(Shard{i, n}.to_string());
  }
  if (!missing.empty()) {
    std::string list;
    for (auto const& m : missing) list += (list.empty() ? "" : ", ") + m;
    require(false, "merge: ", missing.size(), " of the ", n, " shards are missing: ", list);
  }

  // ---- one run: the same data and attributes, each shard complete
  auto const& first_info = files.front().reader->info();
  std::int64_t const total = files.front().total;
  for (auto const& f : files) {
    auto const& info = f.reader->info();
    std::string const where = "merge: '" + f.path() + "' (shard " + f.shard.to_string() + ")";
    require(f.total == total, where, " is a shard of a run of ", f.total, " samples; '", files.front().path(),
            "' of ", total);
    auto const [first, last] = f.shard.range(total);
    require(f.first == first, where, " starts at sample ", f.first, "; shard ", f.shard.to_string(), " of ", total,
            " samples starts at ", first);
    require(info.num_samples == last - first, where, " holds ", info.num_samples, " samples; shard ",
            f.shard.to_string(), " of ", total, " has ", last - first, " (samples ", first, " to ", last - 1,
            "): the file is incomplete or not this run's");
    require(info.x == first_info.x, where, ": its grid differs from that of '", files.front().path(), "'");
    require(info.schema == first_info.schema && info.condition_table == first_info.condition_table, where,
            ": its conditions differ from those of '", files.front().path(), "'");
    require(info.has_porosity == first_info.has_porosity, where, ": porosity ",
            info.has_porosity ? "stored" : "not stored", ", unlike in '", files.front().path(), "'");
    auto const& mine = info.attributes.values();
    auto const& theirs = first_info.attributes.values();
    for (auto const& [name, value] : theirs) {
      if (!is_compared(name)) continue;
      auto const it = mine.find(name);
      require(it != mine.end(), where, " lacks the attribute '", name, "' of '", files.front().path(),
              "': not the same run");
      require(it->second == value, where, ": attribute '", name, "' differs from that of '", files.front().path(),
              "': not the same run (configuration, physics or provenance)");
    }
    for (auto const& [name, value] : mine)
      require(!is_compared(name) || theirs.count(name), where, " has an attribute '", name, "' that '",
              files.front().path(), "' lacks: not the same run");
  }

  // ---- the merged file: shard 0's attributes, the run record combined
  io::AttributeMap attributes;
  for (auto const& [name, value] : first_info.attributes.values())
    if (is_compared(name)) std::visit([&, n = name](auto const& v) { attributes.set(n, v); }, value);
  double wall = 0, nfe_mean = 0;
  std::int64_t failed = 0, evaluations = 0, nfe = 0;
  bool has_record = false;
  for (auto const& f : files) {
    auto const& a = f.reader->info().attributes;
    if (a.contains("wall_time_s")) wall += a.get_double("wall_time_s");
    if (!a.contains("num_failed")) continue;  // the sampler's record (psgm sample)
    has_record = true;
    failed += a.get_int("num_failed");
    evaluations += a.get_int("network_evaluations");
    nfe = std::max(nfe, a.get_int("nfe"));
    nfe_mean += a.get_double("nfe_mean_per_sample") * double(f.reader->size()) / double(total);
  }
  attributes.set("wall_time_s", wall);  // summed over the shards: the run's compute time
  if (has_record) {
    attributes.set("num_failed", failed);
    attributes.set("network_evaluations", evaluations);
    attributes.set("nfe", nfe);
    attributes.set("nfe_mean_per_sample", nfe_mean);
    attributes.set("samples_per_second", wall > 0 ? double(total) / wall : 0.0);
  }
  attributes.set("merged_shards", n);

  io::DatasetWriterOptions wopts = options.writer;
  wopts.store_porosity = first_info.has_porosity;
  io::DatasetWriter writer(options.output, first_info.x, first_info.schema, first_info.condition_table, attributes,
                           wopts);
  int const C = first_info.num_channels(), N = first_info.num_points;
  std::int64_t const chunk = std::max<std::int64_t>(1, (std::int64_t(64) << 20) / (8 * (C + 1) * N));
  io::DatasetReader::host_fields_view fields(Kokkos::view_alloc(Kokkos::WithoutInitializing, "psgm::workflow::merge::fields"),
                                             chunk, C, N);
  io::DatasetReader::host_porosity_view porosity(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "psgm::workflow::merge::porosity"), first_info.has_porosity ? chunk : 0, N);
  io::DatasetReader::host_index_view index(Kokkos::view_alloc(Kokkos::WithoutInitializing, "psgm::workflow::merge::index"), chunk);
  io::DatasetReader::host_status_view status(Kokkos::view_alloc(Kokkos::WithoutInitializing, "psgm::workflow::merge::status"), chunk);
  for (auto const& f : files) {
    std::int64_t const size = f.reader->size();
    for (std::int64_t s0 = 0; s0 < size; s0 += chunk) {
      std::int64_t const b = std::min(chunk, size - s0);
      io::DatasetReader::host_fields_view fb(fields.data(), b, C, N);
      io::DatasetReader::host_index_view ib(index.data(), b);
      io::DatasetReader::host_status_view sb(status.data(), b);
      f.reader->read_fields(s0, fb);
      f.reader->read_condition_index(s0, ib);
      f.reader->read_status(s0, sb);
      if (first_info.has_porosity) {
        io::DatasetReader::host_porosity_view pb(porosity.data(), b, N);
        f.reader->read_porosity(s0, pb);
        writer.append(fb, ib, sb, pb);
      } else {
        writer.append(fb, ib, sb);
      }
    }
  }
  writer.commit();
  return {n, total};
}

}  // namespace psgm::workflow
