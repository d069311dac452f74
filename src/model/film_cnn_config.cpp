#include <psgm/core/Error.hpp>
#include <psgm/model/FilmCnnConfig.hpp>

namespace psgm {
namespace model {

void FilmCnnConfig::validate() const {
  require(channels >= 1, "FilmCnnConfig: channels = ", channels, " must be >= 1");
  require(num_points >= 1, "FilmCnnConfig: num_points = ", num_points, " must be >= 1");
  require(width >= 1, "FilmCnnConfig: width = ", width, " must be >= 1");
  require(num_blocks >= 0, "FilmCnnConfig: num_blocks = ", num_blocks, " must be >= 0");
  require(kernel_size >= 1 && kernel_size % 2 == 1, "FilmCnnConfig: kernel_size = ", kernel_size,
          " must be odd and >= 1 (symmetric replicate padding)");
  require(num_frequencies >= 1 && num_frequencies <= 30, "FilmCnnConfig: num_frequencies = ", num_frequencies,
          " must be in [1, 30]");
  require(cond_dim >= 0, "FilmCnnConfig: cond_dim = ", cond_dim, " must be >= 0");
  require(film_hidden >= 1, "FilmCnnConfig: film_hidden = ", film_hidden, " must be >= 1");
  require(film_layers >= 1, "FilmCnnConfig: film_layers = ", film_layers, " must be >= 1");
}

bool FilmCnnConfig::operator==(FilmCnnConfig const& o) const {
  return channels == o.channels && num_points == o.num_points && width == o.width && num_blocks == o.num_blocks &&
         kernel_size == o.kernel_size && num_frequencies == o.num_frequencies && cond_dim == o.cond_dim &&
         film_hidden == o.film_hidden && film_layers == o.film_layers;
}

std::int64_t ParameterShape::size() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::vector<ParameterShape> parameter_shapes(FilmCnnConfig const& c) {
  c.validate();
  std::vector<ParameterShape> p;
  auto add = [&](std::string name, std::vector<std::int64_t> shape) { p.push_back({std::move(name), std::move(shape)}); };
  std::int64_t const C = c.channels, W = c.width, K = c.kernel_size, Z = c.z_dim(), H = c.film_hidden;
  add("lift.weight", {W, C, 1});
  add("lift.bias", {W});
  for (int b = 0; b < c.num_blocks; ++b) {
    std::string const pre = "blocks." + std::to_string(b) + ".";
    add(pre + "conv1.weight", {W, W, K});
    add(pre + "conv1.bias", {W});
    add(pre + "conv2.weight", {W, W, K});
    add(pre + "conv2.bias", {W});
    for (int l = 0; l < c.film_layers; ++l) {
      std::int64_t const in = (l == 0) ? Z : H;
      std::int64_t const out = (l == c.film_layers - 1) ? 2 * W : H;
      std::string const lp = pre + "film.layers." + std::to_string(l) + ".";
      add(lp + "weight", {out, in});
      add(lp + "bias", {out});
    }
  }
  add("proj.weight", {C, W, 1});
  add("proj.bias", {C});
  add("out_affine.weight", {2 * C, Z});
  add("out_affine.bias", {2 * C});
  return p;
}

std::int64_t parameter_count(FilmCnnConfig const& c) {
  std::int64_t n = 0;
  for (auto const& s : parameter_shapes(c)) n += s.size();
  return n;
}

ParameterSet ParameterSet::zeros(FilmCnnConfig const& config) {
  ParameterSet set;
  set.shapes = parameter_shapes(config);
  for (auto const& s : set.shapes) set.values.emplace_back(static_cast<std::size_t>(s.size()), 0.0);
  return set;
}

std::size_t ParameterSet::index_of(std::string const& name) const {
  for (std::size_t i = 0; i < shapes.size(); ++i)
    if (shapes[i].name == name) return i;
  throw InvalidArgument("model weights: no weight named '" + name + "'");
}

namespace {
std::string shape_string(std::vector<std::int64_t> const& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}
}  // namespace

void ParameterSet::check_matches(FilmCnnConfig const& config) const {
  auto const expected = parameter_shapes(config);
  require(values.size() == shapes.size(), "model weights: ", shapes.size(), " shapes but ", values.size(),
          " value arrays");
  for (auto const& e : expected) {
    bool found = false;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      if (shapes[i].name != e.name) continue;
      found = true;
      require(shapes[i].shape == e.shape, "model weights: '", e.name, "' has shape ", shape_string(shapes[i].shape),
              " but the architecture (width ", config.width, ", channels ", config.channels, ", kernel ",
              config.kernel_size, ") needs ", shape_string(e.shape));
      require(static_cast<std::int64_t>(values[i].size()) == e.size(), "model weights: '", e.name, "' holds ",
              values[i].size(), " values, expected ", e.size());
    }
    require(found, "model weights: missing weight '", e.name, "' required by the architecture");
  }
  require(shapes.size() == expected.size(), "model weights: ", shapes.size(), " weights, but the architecture has ",
          expected.size(), " (unexpected extra weights)");
  for (std::size_t i = 0; i < expected.size(); ++i)
    require(shapes[i].name == expected[i].name, "model weights: weight ", i, " is '", shapes[i].name,
            "', expected '", expected[i].name, "' (canonical order)");
}

}  // namespace model
}  // namespace psgm
