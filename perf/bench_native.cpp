// Benchmark of the native score backend (docs/performance.md, "Native backend").
//
//   bench_native [--batches 1,64,500,4096] [--train-batches 64,256] [--seconds 2]
//                [--strategies] [--double] [--device] [--quick]
//
// Prints, for the reference network (W = 64, 10 blocks, k = 7, N = 100) in
// float, score evaluations per second of
//   * the native backend on Kokkos::DefaultHostExecutionSpace (host tiles),
//   * the native backend's portable kernels on the same space,
//   * the LibTorch backend (when psgm was built with it),
// at each batch size, and the time of one training step (loss, gradient, Adam)
// natively and in LibTorch. Every ratio is measured in the same run, on the
// same threads (OMP_NUM_THREADS), the backends alternating call by call and the
// median kept. --strategies adds the single-convolution comparison behind the
// kernel choice (docs/native_backend.md): the host micro-kernel tiles, the
// portable team kernel and im2col + KokkosBlas::gemm. --device adds, in a
// build whose Kokkos::DefaultExecutionSpace is a device (Cuda, HIP), the
// portable kernels there against the host tiles: evaluations/s, GFLOP/s and
// the training step, same weights, same process.
#include <psgm/core/Runtime.hpp>
#include <psgm/score/NativeScoreModel.hpp>
#include <psgm/score/NativeTrainableModel.hpp>
#include <psgm/score/impl/NativeKernels.hpp>
#if PSGM_HAS_TORCH
#include <psgm/torch/TorchScoreModel.hpp>
#include <psgm/torch/TorchTrainableModel.hpp>
#endif

#include <KokkosBlas3_gemm.hpp>
#include <Kokkos_Core.hpp>

#include "BenchUtil.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using Space = Kokkos::DefaultHostExecutionSpace;
using psgm::model::FilmCnnConfig;
using psgm::model::ModelDescription;
using psgm::score::NativeKernels;
using psgm::model::ParameterSet;

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

using psgm_bench::parse_list;

/// PyTorch-like random weights (U(±1/√fan_in)), the last FiLM layer and the
/// output affine at 1e-2 so that every path of the network is exercised.
ParameterSet random_weights(FilmCnnConfig const& c, std::string const& dtype) {
  auto set = ParameterSet::zeros(c);
  set.dtype = dtype;
  std::mt19937_64 rng(2024);
  for (std::size_t p = 0; p < set.shapes.size(); ++p) {
    auto const& shape = set.shapes[p].shape;
    auto const& prev = set.shapes[p == 0 ? 0 : p - 1].shape;
    std::int64_t fan_in = 1;
    auto const& s = shape.size() >= 2 ? shape : prev;
    for (std::size_t d = 1; d < s.size(); ++d) fan_in *= s[d];
    double bound = 1.0 / std::sqrt(double(fan_in));
    if (set.shapes[p].name.find("out_affine") == 0 || set.shapes[p].name.find("layers.3") != std::string::npos)
      bound = 1e-2;
    std::uniform_real_distribution<double> u(-bound, bound);
    for (double& v : set.values[p]) v = dtype == "float32" ? double(float(u(rng))) : u(rng);
  }
  return set;
}

/// Runs the callables alternately, `rounds` times after one warm-up each,
/// and returns each one's median time.
std::vector<double> alternate(std::vector<std::function<void()>> const& fs, double budget_seconds, int min_rounds = 3,
                              int max_rounds = 50) {
  std::vector<double> warm(fs.size());
  for (std::size_t i = 0; i < fs.size(); ++i) {
    double const t0 = now();
    fs[i]();
    warm[i] = now() - t0;
  }
  double const per_round = std::max(1e-6, std::accumulate(warm.begin(), warm.end(), 0.0));
  int const rounds = std::clamp(int(budget_seconds / per_round), min_rounds, max_rounds);
  std::vector<std::vector<double>> t(fs.size());
  for (int r = 0; r < rounds; ++r)
    for (std::size_t i = 0; i < fs.size(); ++i) {
      double const t0 = now();
      fs[i]();
      t[i].push_back(now() - t0);
    }
  std::vector<double> med;
  for (auto& v : t) {
    std::sort(v.begin(), v.end());
    med.push_back(v[v.size() / 2]);
  }
  return med;
}

template <class Scalar, class ExecSpace = Space>
struct Inputs {
  using memory_space = typename ExecSpace::memory_space;
  using field_view = Kokkos::View<Scalar***, Kokkos::LayoutRight, memory_space>;
  field_view x, out;
  Kokkos::View<Scalar*, memory_space> t;
  Kokkos::View<Scalar**, Kokkos::LayoutRight, memory_space> cond;
  Inputs(FilmCnnConfig const& c, int B)
      : x("psgm::bench::x", B, c.channels, c.num_points),
        out("psgm::bench::out", B, c.channels, c.num_points),
        t("psgm::bench::t", B),
        cond("psgm::bench::cond", B, c.cond_dim) {
    std::mt19937_64 rng(7);
    std::normal_distribution<double> n;
    std::uniform_real_distribution<double> u;
    auto xh = Kokkos::create_mirror_view(x);
    auto th = Kokkos::create_mirror_view(t);
    auto ch = Kokkos::create_mirror_view(cond);
    for (std::size_t i = 0; i < xh.size(); ++i) xh.data()[i] = Scalar(n(rng));
    for (int b = 0; b < B; ++b) th(b) = Scalar(1e-4 + u(rng));
    for (std::size_t i = 0; i < ch.size(); ++i) ch.data()[i] = Scalar(u(rng));
    Kokkos::deep_copy(x, xh);
    Kokkos::deep_copy(t, th);
    Kokkos::deep_copy(cond, ch);
  }
};

/// Floating-point operations of one score evaluation, counting each
/// multiply-add of the convolutions (2 C_out C_in k N) and of the linear
/// layers (2 out in) as two; biases, FiLM and activations are not counted.
double flops_per_evaluation(FilmCnnConfig const& c) {
  double f = 0;
  for (auto const& p : psgm::model::parameter_shapes(c)) {
    if (p.shape.size() == 3) f += 2.0 * double(p.size()) * c.num_points;
    if (p.shape.size() == 2) f += 2.0 * double(p.size());
  }
  return f;
}

psgm::score::DsmBatch make_batch(FilmCnnConfig const& c, int B) {
  psgm::score::DsmBatch b;
  b.x = psgm::score::DsmBatch::fields_view("psgm::bench::x", B, c.channels, c.num_points);
  b.y = psgm::score::DsmBatch::fields_view("psgm::bench::y", B, c.channels, c.num_points);
  b.t = psgm::score::DsmBatch::scalars_view("psgm::bench::t", B);
  b.a = psgm::score::DsmBatch::scalars_view("psgm::bench::a", B);
  b.cond = psgm::score::DsmBatch::cond_view("psgm::bench::cond", B, c.cond_dim);
  std::mt19937_64 rng(8);
  std::normal_distribution<double> n;
  std::uniform_real_distribution<double> u;
  for (std::size_t i = 0; i < b.x.size(); ++i) b.x.data()[i] = n(rng);
  for (std::size_t i = 0; i < b.y.size(); ++i) b.y.data()[i] = n(rng);
  for (int i = 0; i < B; ++i) {
    b.t(i) = 1e-4 + u(rng);
    b.a(i) = 0.1 + u(rng);
  }
  for (std::size_t i = 0; i < b.cond.size(); ++i) b.cond.data()[i] = u(rng);
  return b;
}

template <class Scalar>
void inference(FilmCnnConfig const& c, std::vector<int> const& batches, double seconds) {
  using Native = psgm::score::ScoreModel<psgm::score::Native<Space>, Scalar>;
  std::string const dtype = std::is_same_v<Scalar, float> ? "float32" : "float64";
  ModelDescription d;
  d.architecture = c;
  d.weights = random_weights(c, dtype);
  Space space;
  Native tiles(space, d, NativeKernels::host_tiles);
  Native portable(space, d, NativeKernels::portable);
#if PSGM_HAS_TORCH
  psgm::score::ScoreModel<psgm::score::LibTorch, Scalar> torch(d);
#endif
  std::printf("\ninference, %s, score evaluations per second (median of alternating calls)\n", dtype.c_str());
  std::printf("%6s %14s %14s %14s %12s %12s\n", "B", "native", "native-portab", "libtorch", "native/torch",
              "tiles/portab");
  for (int B : batches) {
    Inputs<Scalar> in(c, B);
    tiles.reserve(B);
    portable.reserve(B);
    std::vector<std::function<void()>> fs;
    fs.push_back([&] {
      tiles.score(space, in.x, in.t, in.cond, in.out);
      space.fence();
    });
    bool const run_portable = B <= 500;  // slow: only where it is informative
    if (run_portable)
      fs.push_back([&] {
        portable.score(space, in.x, in.t, in.cond, in.out);
        space.fence();
      });
#if PSGM_HAS_TORCH
    torch.reserve(B);
    fs.push_back([&] { torch.score(space, in.x, in.t, in.cond, in.out); });
#endif
    auto const t = alternate(fs, seconds);
    double const native = B / t[0];
    double const port = run_portable ? B / t[1] : 0;
#if PSGM_HAS_TORCH
    double const lt = B / t.back();
    std::printf("%6d %14.1f %14.1f %14.1f %12.2f %12.2f\n", B, native, port, lt, native / lt,
                run_portable ? native / port : 0.0);
#else
    std::printf("%6d %14.1f %14.1f %14s %12s %12.2f\n", B, native, port, "-", "-", run_portable ? native / port : 0.0);
#endif
    std::fflush(stdout);
  }
}

template <class Scalar>
void training(FilmCnnConfig const& c, std::vector<int> const& batches, double seconds) {
  using Native = psgm::score::TrainableModel<psgm::score::Native<Space>, Scalar>;
  std::string const dtype = std::is_same_v<Scalar, float> ? "float32" : "float64";
  auto const theta = random_weights(c, dtype);
  std::printf("\ntraining step (loss, gradient, Adam), %s, milliseconds (median of alternating steps)\n",
              dtype.c_str());
  std::printf("%6s %12s %12s %14s\n", "B", "native", "libtorch", "torch/native");
  for (int B : batches) {
    auto const batch = make_batch(c, B);
    Native native(c);
    native.reserve(B);
    native.set_parameters(theta);
    std::int64_t step_n = 0;
    std::vector<std::function<void()>> fs;
    fs.push_back([&] {
      native.loss_and_gradient(batch);
      native.adam_step({}, 1e-4, 1.0, ++step_n);
    });
#if PSGM_HAS_TORCH
    std::int64_t step_t = 0;
    psgm::score::TrainableModel<psgm::score::LibTorch, Scalar> torch(c);
    torch.reserve(B);
    torch.set_parameters(theta);
    auto const zero = ParameterSet::zeros(c);
    torch.set_optimizer_state({zero, zero, {}});
    fs.push_back([&] {
      torch.loss_and_gradient(batch);
      torch.adam_step({}, 1e-4, 1.0, ++step_t);
    });
#endif
    auto const t = alternate(fs, seconds, 3, 20);
#if PSGM_HAS_TORCH
    std::printf("%6d %12.1f %12.1f %14.2f\n", B, 1e3 * t[0], 1e3 * t[1], t[1] / t[0]);
#else
    std::printf("%6d %12.1f %12s %14s\n", B, 1e3 * t[0], "-", "-");
#endif
    std::fflush(stdout);
  }
}

/// The device (Kokkos::DefaultExecutionSpace, when it is not a host space)
/// against the host, same weights, same process: score evaluations per second
/// and GFLOP/s of the portable kernels (the device's only kernels) at each
/// batch size, the host's fastest kernels beside them, and one training step.
void device(FilmCnnConfig const& c, std::vector<int> const& batches, std::vector<int> const& train_batches,
            double seconds) {
  using Device = Kokkos::DefaultExecutionSpace;
  if constexpr (std::is_same_v<Device, Space>) {
    std::printf("\ndevice: none in this build (Kokkos::DefaultExecutionSpace is %s)\n", Device::name());
  } else {
    using Scalar = float;
    int const host_cap = 512;
    ModelDescription d;
    d.architecture = c;
    d.weights = random_weights(c, "float32");
    Device dev;
    Space host;
    psgm::score::ScoreModel<psgm::score::Native<Device>, Scalar> gpu(dev, d, NativeKernels::portable);
    psgm::score::ScoreModel<psgm::score::Native<Space>, Scalar> cpu(host, d, NativeKernels::host_tiles);
    double const flop = flops_per_evaluation(c);
    std::printf("\ndevice %s: inference, float32, reference network (%.1f MFLOP per evaluation), median of "
                "alternating calls\n",
                Device::name(), flop / 1e6);
    std::printf("    (host: %s, %d threads, at min(B, %d): its rate is flat there)\n", Space::name(),
                Space().concurrency(), host_cap);
    std::printf("%6s %16s %12s %16s %12s %12s\n", "B", "device evals/s", "dev GFLOP/s", "host evals/s",
                "host GFLOP/s", "dev/host");
    for (int B : batches) {
      int const Bh = std::min(B, host_cap);
      Inputs<Scalar, Device> din(c, B);
      Inputs<Scalar, Space> hin(c, Bh);
      gpu.reserve(B);
      cpu.reserve(Bh);
      auto const t = alternate(
          {[&] {
             gpu.score(dev, din.x, din.t, din.cond, din.out);
             dev.fence();
           },
           [&] {
             cpu.score(host, hin.x, hin.t, hin.cond, hin.out);
             host.fence();
           }},
          seconds);
      std::printf("%6d %16.1f %12.1f %16.1f %12.1f %12.2f\n", B, B / t[0], B * flop / t[0] / 1e9, Bh / t[1],
                  Bh * flop / t[1] / 1e9, (B / t[0]) / (Bh / t[1]));
      std::fflush(stdout);
    }
    auto const& theta = d.weights;
    std::printf("\ndevice %s: training step (loss, gradient, Adam), float32, milliseconds (median)\n", Device::name());
    std::printf("    (host at min(B, %d); the ratio is per sample)\n", host_cap);
    std::printf("%6s %12s %12s %16s\n", "B", "device", "host", "dev/host per sample");
    for (int B : train_batches) {
      int const Bh = std::min(B, host_cap);
      auto const batch = make_batch(c, B);
      auto const host_batch = make_batch(c, Bh);
      psgm::score::TrainableModel<psgm::score::Native<Device>, Scalar> g(dev, c);
      psgm::score::TrainableModel<psgm::score::Native<Space>, Scalar> h(host, c);
      g.reserve(B);
      h.reserve(Bh);
      g.set_parameters(theta);
      h.set_parameters(theta);
      std::int64_t sg = 0, sh = 0;
      auto const t = alternate({[&] {
                                  g.loss_and_gradient(batch);
                                  g.adam_step({}, 1e-4, 1.0, ++sg);
                                  dev.fence();
                                },
                                [&] {
                                  h.loss_and_gradient(host_batch);
                                  h.adam_step({}, 1e-4, 1.0, ++sh);
                                }},
                               seconds, 3, 20);
      std::printf("%6d %12.2f %12.2f %16.2f\n", B, 1e3 * t[0], 1e3 * t[1], (B / t[0]) / (Bh / t[1]));
      std::fflush(stdout);
    }
  }
}

/// One convolution layer of the reference (W = 64, k = 7, N = 100) at batch B,
/// three ways (docs/native_backend.md, "Choosing the kernels").
void strategies(int B, double seconds) {
  using namespace psgm::score::Impl;
  FilmCnnConfig c;
  NativeLayout const l(c, psgm::score::Impl::native_host::pad_lanes<float>());
  Space space;
  using V = Kokkos::View<float*, Space::memory_space>;
  std::mt19937_64 rng(3);
  std::normal_distribution<float> n;
  V in("psgm::bench::conv_in", std::size_t(B) * l.hidden_sample()), out("psgm::bench::conv_out", in.size());
  V w("psgm::bench::conv_w", l.pconv_size()), bias("psgm::bench::conv_bias", l.ldw);
  V gb("psgm::bench::film", std::size_t(B) * l.ldf);
  for (std::size_t i = 0; i < in.size(); ++i) in(i) = n(rng);
  for (std::size_t i = 0; i < w.size(); ++i) w(i) = 0.05f * n(rng);
  Kokkos::View<int*, Space::memory_space> tab("psgm::bench::conv_table", std::size_t(l.N) * l.K);
  for (int i = 0; i < l.N; ++i)
    for (int k = 0; k < l.K; ++k) tab(i * l.K + k) = std::clamp(i + k - l.pad, 0, l.N - 1);
  int const tiles = (l.N + native_rows - 1) / native_rows;
  ConvForwardFunctor<float, Space> f{l, in.data(), w.data(), bias.data(), gb.data(), tab.data(), nullptr,
                                     out.data(), nullptr, tiles};
  // im2col: A (B N, K W) with replicate padding, then A · W (K W, W) by KokkosBlas::gemm.
  Kokkos::View<float**, Kokkos::LayoutRight, Space::memory_space> A("psgm::bench::im2col", std::size_t(B) * l.N,
                                                                     std::size_t(l.K) * l.W);
  Kokkos::View<float**, Kokkos::LayoutRight, Space::memory_space> Wm("psgm::bench::im2col_w", std::size_t(l.K) * l.W,
                                                                      l.W);
  Kokkos::View<float**, Kokkos::LayoutRight, Space::memory_space> Cm("psgm::bench::im2col_out", std::size_t(B) * l.N,
                                                                      l.W);
  std::vector<std::function<void()>> fs{
      [&] {
        Kokkos::parallel_for("psgm::bench::conv_host_tiles", Kokkos::RangePolicy<Space, HostTile>(space, 0, B * tiles),
                             f);
        space.fence();
      },
      [&] {
        Kokkos::parallel_for("psgm::bench::conv_portable", Kokkos::TeamPolicy<Space>(space, B * tiles, 1), f);
        space.fence();
      },
      [&] {
        auto const ld = l.ldw;
        auto const N = l.N, K = l.K, W = l.W, pad = l.pad;
        auto const inp = in;
        auto const Av = A;
        Kokkos::parallel_for(
            "psgm::bench::im2col", Kokkos::RangePolicy<Space>(space, 0, B * N), KOKKOS_LAMBDA(int bn) {
              int const b = bn / N, i = bn % N;
              for (int k = 0; k < K; ++k) {
                int const r = psgm::math::min(psgm::math::max(i + k - pad, 0), N - 1);
                for (int ch = 0; ch < W; ++ch) Av(bn, k * W + ch) = inp((std::size_t(b) * N + r) * ld + ch);
              }
            });
        KokkosBlas::gemm("N", "N", 1.0f, A, Wm, 0.0f, Cm);  // (KokkosKernels 3.4: default instance)
        space.fence();
      }};
  auto const t = alternate(fs, seconds);
  double const flop = 2.0 * B * l.N * l.W * l.W * l.K;
  std::printf("\none convolution (W = 64, k = 7, N = 100, float), B = %d: GFLOP/s\n", B);
  std::printf("  host tiles (micro-kernel, fused FiLM/SiLU) %8.1f\n", flop / t[0] / 1e9);
  std::printf("  portable team kernel (fused FiLM/SiLU)     %8.1f\n", flop / t[1] / 1e9);
  std::printf("  im2col + KokkosBlas::gemm (no epilogue)    %8.1f\n", flop / t[2] / 1e9);
}

}  // namespace

int main(int argc, char* argv[]) {
  std::vector<int> batches{1, 64, 500, 4096}, train_batches{64, 256};
  double seconds = 2;
  std::vector<int> device_batches{64, 512, 4096, 16384}, device_train_batches{64, 512, 4096};
  bool with_strategies = false, with_double = false, with_device = false;
  for (int i = 1; i < argc; ++i) {
    std::string const a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--batches")
      batches = parse_list(next());
    else if (a == "--train-batches")
      train_batches = parse_list(next());
    else if (a == "--seconds")
      seconds = std::stod(next());
    else if (a == "--strategies")
      with_strategies = true;
    else if (a == "--double")
      with_double = true;
    else if (a == "--device")
      with_device = true;
    else if (a == "--quick") {
      batches = {1, 64};
      train_batches = {16};
      device_batches = {64};
      device_train_batches = {16};
      seconds = 0.2;
    } else {
      std::fprintf(stderr,
                   "usage: bench_native [--batches 1,64,500,4096] [--train-batches 64,256] [--seconds 2] "
                   "[--strategies] [--double] [--device] [--quick]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  psgm::ScopeGuard guard;
  FilmCnnConfig const c;  // the reference network
  std::printf("%s\nthreads: %d, native CPU micro-kernels: %s\n", psgm::build_info().c_str(), Space().concurrency(),
              psgm::score::Impl::native_host::isa_name());
  if (with_strategies) strategies(500, seconds);
  inference<float>(c, batches, seconds);
  if (with_double) inference<double>(c, batches, seconds);
  training<float>(c, train_batches, seconds);
  if (with_device) device(c, device_batches, device_train_batches, seconds);
  return 0;
}
