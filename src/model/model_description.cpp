#include <psgm/core/Error.hpp>
#include <psgm/model/ModelDescription.hpp>

namespace psgm {
namespace model {

char const* to_string(ModelKind kind) {
  switch (kind) {
    case ModelKind::score_network: return "score_network";
    case ModelKind::gaussian_emulator: return "gaussian_emulator";
  }
  return "unknown";
}

ModelKind model_kind_from_string(std::string const& name) {
  if (name == "score_network") return ModelKind::score_network;
  if (name == "gaussian_emulator") return ModelKind::gaussian_emulator;
  throw InvalidArgument("unknown model kind '" + name + "': expected 'score_network' or 'gaussian_emulator'");
}

std::vector<std::string> ModelDescription::field_channel_names() const {
  if (whitening && !whitening->channel_names.empty()) return whitening->channel_names;
  int const C = field_channels();
  if (C == 2) return {"c", "phi"};
  std::vector<std::string> names;
  for (int c = 0; c < C; ++c) names.push_back("channel_" + std::to_string(c));
  return names;
}

void ModelDescription::validate() const {
  if (kind == ModelKind::gaussian_emulator) {
    require(whitening.has_value(), "model: a Gaussian emulator needs its whitening (mean, spread and basis)");
    whitening->validate();
    require(whitening->components == whitening->num_free(), "model: a Gaussian emulator draws every one of the ",
            whitening->num_free(), " whitened coordinates, but its whitening keeps ", whitening->components);
    return;
  }
  architecture.validate();
  normalization.validate();
  sde.validate();
  weights.check_matches(architecture);
  if (whitening) {
    whitening->validate();
    require(architecture.channels == whitening->components && architecture.num_points == 1,
            "model: a whitened score network takes its ", whitening->components,
            " latent coordinates as channels on one point, but the architecture has ", architecture.channels,
            " channels on ", architecture.num_points, " points");
    require(architecture.cond_dim == whitening->num_conditions(), "model: the architecture takes ",
            architecture.cond_dim, " condition inputs but the whitening's schema has ", whitening->num_conditions(),
            " columns");
  }
}

}  // namespace model
}  // namespace psgm
