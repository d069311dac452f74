// The physics of a data set as root attributes (docs/design.md §4): every
// parameter of psgm::pde::ElectrodeParameters and psgm::gp::PorosityModel
// under its name in docs/model.md, and the way back, so that a program reading
// a data set (training, evaluation against fresh PDE ensembles) uses exactly
// the physics the data were generated with.
#pragma once

#include <psgm/gp/PorosityModel.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/pde/ElectrodeParameters.hpp>

namespace psgm::io {

/// L, N, kappa0, D0, bruggeman, a0, k_rn, G, t_plus, faraday, c0, c_right, dt,
/// T, num_steps, time_integration, kinetics, alpha_a, alpha_c, gamma,
/// temperature, gas_constant, c_ref, i0 (the effective values), newton_tolerance,
/// newton_max_iterations; gp_kernel, gp_sigma, gp_nugget, gp_factorization,
/// porosity_map, epsilon_min, epsilon_max.
AttributeMap physics_attributes(pde::ElectrodeParameters const& electrode, gp::PorosityModel const& porosity);

/// The parameters stored by physics_attributes(); psgm::IoError naming the
/// first missing or mistyped attribute (and the file, via the map's origin).
pde::ElectrodeParameters electrode_parameters_from(AttributeMap const& attributes);
gp::PorosityModel porosity_model_from(AttributeMap const& attributes);

/// Ensembles that are compared with each other (a data set, its noise floor,
/// the model's samples) must describe the same physics. Compares every
/// attribute physics_attributes() writes (and porosity_source), except the
/// GP factorisation (a numerical choice), that both maps hold; with
/// `require_all`, one the reference holds must be in `other` too. Numbers
/// agree to 1e-12 relative. Throws InvalidArgument naming the attribute, both
/// values and both origins (`what_reference`, `what_other`).
void require_same_physics(AttributeMap const& reference, std::string const& what_reference,
                          AttributeMap const& other, std::string const& what_other, bool require_all);

}  // namespace psgm::io
