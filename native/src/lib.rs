//! Native fast path of plasticore's bounded O(1) online learning rule (reward-modulated STDP).
//!
//! The arithmetic is the contract of `plasticore.refmodel.online_o1` (module docstring there), bit for bit:
//!
//! ```text
//! decayU(x) = x - (x >> s)                decayS(e) = sign(e) * (|e| - (|e| >> s))     (s = 0: no decay)
//! r     = sat(reward, [-2^(R-1), 2^(R-1) - 1])
//! pre'  = M if pre_spike  else decayU(pre)            M = 2^T - 1
//! post' = M if post_spike else decayU(post)
//! pot   = (M if pre_spike else pre) if post_spike else 0
//! dep   = post if pre_spike else 0
//! e'    = sat(decayS(e) + pot - dep, [-2^(T-1), 2^(T-1) - 1])
//! w'    = sat(w + ((r * e') >> L), [0, 2^W - 1])
//! ```
//!
//! C ABI (every function checks its pointers; a bad config gives a NULL handle; no panic crosses the
//! boundary: every body runs under `catch_unwind`):
//!
//! * `pc_o1_synapse_new / _free / _step / _get_state / _set_state`: one synapse (i64 fields);
//! * `pc_simd_level`: the kernel's code path (2 AVX-512, 1 AVX2, 0 portable);
//! * `pc_o1_layer_new / _free / _step / _field_ptr / _word_bytes`: a dense `(n_post, n_pre)` layer, one call
//!   per timestep. The layer owns its state (weights, eligibility row-major `(n_post, n_pre)`, pre and post
//!   traces) in words of the width NumPy uses (`i32` when `max(T, W, R + T) + 2 <= 32`, else `i64`);
//!   `_field_ptr` exposes those buffers so the caller can export/import the state without copies.
//!
//! Status codes: `0` ok, `-1` NULL handle, `-2` a spike that is not 0/1, `-3` NULL data pointer,
//! `-4` out-of-range state value, `-5` internal panic (caught).

use std::panic::{catch_unwind, AssertUnwindSafe};

pub const PC_OK: i32 = 0;
pub const PC_ERR_HANDLE: i32 = -1;
pub const PC_ERR_SPIKE: i32 = -2;
pub const PC_ERR_POINTER: i32 = -3;
pub const PC_ERR_RANGE: i32 = -4;
pub const PC_ERR_PANIC: i32 = -5;

const MAX_NEURONS: i64 = 1 << 24;
/// Layers with at least this many synapses are split over threads (when more than one is allowed).
const THREAD_MIN_SYNAPSES: usize = 1 << 17;

/// Widths and shifts, checked exactly like `OnlineO1Config` (W 1..31, T 2..30, R 1..30, L 0..30, s 0..30).
#[derive(Clone, Copy, Debug)]
struct Config {
    w_bits: u32,
    t_bits: u32,
    r_bits: u32,
    l_shift: u32,
    s_shift: u32,
}

impl Config {
    fn new(w: i32, t: i32, r: i32, l: i32, s: i32) -> Option<Config> {
        let ok = (1..=31).contains(&w)
            && (2..=30).contains(&t)
            && (1..=30).contains(&r)
            && (0..=30).contains(&l)
            && (0..=30).contains(&s);
        if !ok {
            return None;
        }
        Some(Config { w_bits: w as u32, t_bits: t as u32, r_bits: r as u32, l_shift: l as u32, s_shift: s as u32 })
    }
    fn max_weight(&self) -> i64 {
        (1i64 << self.w_bits) - 1
    }
    fn max_trace(&self) -> i64 {
        (1i64 << self.t_bits) - 1
    }
    fn e_min(&self) -> i64 {
        -(1i64 << (self.t_bits - 1))
    }
    fn e_max(&self) -> i64 {
        (1i64 << (self.t_bits - 1)) - 1
    }
    fn r_min(&self) -> i64 {
        -(1i64 << (self.r_bits - 1))
    }
    fn r_max(&self) -> i64 {
        (1i64 << (self.r_bits - 1)) - 1
    }
    /// Whether the eligibility/trace decay changes anything: `0 < s < T` (for `s >= T`, `x >> s` is 0).
    fn decays(&self) -> bool {
        self.s_shift > 0 && self.s_shift < self.t_bits
    }
    /// `true` when every intermediate fits into a signed 32-bit word (the rule NumPy's layer uses).
    fn narrow(&self) -> bool {
        self.t_bits.max(self.w_bits).max(self.r_bits + self.t_bits) + 2 <= 32
    }
    fn sat_reward(&self, r: i64) -> i64 {
        r.clamp(self.r_min(), self.r_max())
    }
}

fn guard<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

// ---- single synapse -----------------------------------------------------------------------------

fn decay_u(x: i64, s: u32) -> i64 {
    if s == 0 {
        x
    } else {
        x - (x >> s)
    }
}

fn decay_s(e: i64, s: u32) -> i64 {
    if s == 0 {
        return e;
    }
    let a = e.abs();
    let d = a - (a >> s);
    if e < 0 {
        -d
    } else {
        d
    }
}

/// The scalar step on four i64 fields `[weight, pre_trace, post_trace, eligibility]`.
fn synapse_step(c: &Config, st: [i64; 4], pre_spike: bool, post_spike: bool, reward: i64) -> [i64; 4] {
    let (s, m) = (c.s_shift, c.max_trace());
    let r = c.sat_reward(reward);
    let (pre, post) = (st[1], st[2]);
    let new_pre = if pre_spike { m } else { decay_u(pre, s) };
    let new_post = if post_spike { m } else { decay_u(post, s) };
    let pot = if post_spike { if pre_spike { m } else { pre } } else { 0 };
    let dep = if pre_spike { post } else { 0 };
    let e = (decay_s(st[3], s) + pot - dep).clamp(c.e_min(), c.e_max());
    let w = (st[0] + (r.wrapping_mul(e) >> c.l_shift)).clamp(0, c.max_weight());
    [w, new_pre, new_post, e]
}

pub struct Synapse {
    cfg: Config,
    state: [i64; 4],
}

impl Synapse {
    fn in_range(&self, st: &[i64; 4]) -> bool {
        let c = &self.cfg;
        (0..=c.max_weight()).contains(&st[0])
            && (0..=c.max_trace()).contains(&st[1])
            && (0..=c.max_trace()).contains(&st[2])
            && (c.e_min()..=c.e_max()).contains(&st[3])
    }
}

/// A new synapse, or NULL when a width/shift or `initial_weight` is out of range.
#[no_mangle]
pub extern "C" fn pc_o1_synapse_new(
    weight_bits: i32,
    trace_bits: i32,
    reward_bits: i32,
    learning_shift: i32,
    trace_decay_shift: i32,
    initial_weight: i64,
) -> *mut Synapse {
    guard(std::ptr::null_mut(), || {
        let Some(cfg) = Config::new(weight_bits, trace_bits, reward_bits, learning_shift, trace_decay_shift) else {
            return std::ptr::null_mut();
        };
        if !(0..=cfg.max_weight()).contains(&initial_weight) {
            return std::ptr::null_mut();
        }
        Box::into_raw(Box::new(Synapse { cfg, state: [initial_weight, 0, 0, 0] }))
    })
}

/// Free a synapse from `pc_o1_synapse_new` (NULL is ignored).
///
/// # Safety
/// `h` must be NULL or a handle from `pc_o1_synapse_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn pc_o1_synapse_free(h: *mut Synapse) {
    if !h.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(h))));
    }
}

/// One step; writes the new `[weight, pre_trace, post_trace, eligibility]` to `out` (4 x i64).
///
/// # Safety
/// `h` must be a live handle, `out` NULL or valid for 4 writes.
#[no_mangle]
pub unsafe extern "C" fn pc_o1_synapse_step(h: *mut Synapse, pre_spike: u8, post_spike: u8, reward: i64,
                                            out: *mut i64) -> i32 {
    if h.is_null() {
        return PC_ERR_HANDLE;
    }
    if out.is_null() {
        return PC_ERR_POINTER;
    }
    if pre_spike > 1 || post_spike > 1 {
        return PC_ERR_SPIKE;
    }
    guard(PC_ERR_PANIC, || {
        let syn = &mut *h;
        syn.state = synapse_step(&syn.cfg, syn.state, pre_spike == 1, post_spike == 1, reward);
        std::ptr::copy_nonoverlapping(syn.state.as_ptr(), out, 4);
        PC_OK
    })
}

/// Copy the four fields to `out` (4 x i64).
///
/// # Safety
/// `h` must be a live handle, `out` NULL or valid for 4 writes.
#[no_mangle]
pub unsafe extern "C" fn pc_o1_synapse_get_state(h: *const Synapse, out: *mut i64) -> i32 {
    if h.is_null() {
        return PC_ERR_HANDLE;
    }
    if out.is_null() {
        return PC_ERR_POINTER;
    }
    guard(PC_ERR_PANIC, || {
        std::ptr::copy_nonoverlapping((*h).state.as_ptr(), out, 4);
        PC_OK
    })
}

/// Set the four fields from `src` (4 x i64); `-4` (nothing written) when one is out of range.
///
/// # Safety
/// `h` must be a live handle, `src` NULL or valid for 4 reads.
#[no_mangle]
pub unsafe extern "C" fn pc_o1_synapse_set_state(h: *mut Synapse, src: *const i64) -> i32 {
    if h.is_null() {
        return PC_ERR_HANDLE;
    }
    if src.is_null() {
        return PC_ERR_POINTER;
    }
    guard(PC_ERR_PANIC, || {
        let syn = &mut *h;
        let mut st = [0i64; 4];
        std::ptr::copy_nonoverlapping(src, st.as_mut_ptr(), 4);
        if !syn.in_range(&st) {
            return PC_ERR_RANGE;
        }
        syn.state = st;
        PC_OK
    })
}

// ---- dense layer ----------------------------------------------------------------------------------

/// Per-step constants of a row kernel, in the layer's word type.
#[derive(Clone, Copy)]
struct RowParams<X> {
    s: u32,
    bias: X,
    e_lo: X,
    e_hi: X,
    w_hi: X,
    l: u32,
}

/// 2 = AVX-512 (F, BW, VL, DQ), 1 = AVX2, 0 = portable; detected once. `PLASTICORE_NATIVE_SIMD=avx2|portable`
/// caps it (for benchmarks comparing the code paths; all paths compute the same integers).
fn simd_level() -> u8 {
    static LEVEL: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            let cap = match std::env::var("PLASTICORE_NATIVE_SIMD").as_deref() {
                Ok("portable") => 0,
                Ok("avx2") => 1,
                _ => 2,
            };
            let avx512 = std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vl")
                && std::arch::is_x86_feature_detected!("avx512dq");
            let have = if avx512 { 2 } else if std::arch::is_x86_feature_detected!("avx2") { 1 } else { 0 };
            have.min(cap)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            0
        }
    })
}

/// The code path the layer kernel runs on this machine: 2 = AVX-512, 1 = AVX2, 0 = portable (after the
/// `PLASTICORE_NATIVE_SIMD` cap). Lets callers check which path a parity test exercised.
#[no_mangle]
pub extern "C" fn pc_simd_level() -> i32 {
    guard(0, || simd_level() as i32)
}

macro_rules! layer_kernels {
    ($modname:ident, $x:ty) => {
        mod $modname {
            use super::RowParams;
            const SIGN: u32 = <$x>::BITS - 1;

            /// One row (post neuron): `e`, `w` updated in place; `pre_eff[i]` = M or the old pre trace,
            /// `pre_mask[i]` = -1 where pre spiked; `POST` = this post neuron spiked (the potentiation term
            /// `pre_eff` is then added; the 95% of rows without a post spike skip it); `post_old` its old
            /// trace; `r` its saturated reward.
            #[inline(always)]
            fn row<const DECAY: bool, const LEARN: bool, const POST: bool>(
                w: &mut [$x], e: &mut [$x], pre_eff: &[$x], pre_mask: &[$x], post_old: $x, r: $x,
                p: RowParams<$x>,
            ) {
                let n = e.len();
                let (w, pre_eff, pre_mask) = (&mut w[..n], &pre_eff[..n], &pre_mask[..n]);
                for i in 0..n {
                    let mut x = e[i];
                    if DECAY {
                        // sign(x) * (|x| - (|x| >> s)) == x - trunc(x / 2^s), trunc via the bias trick
                        let b = (x >> SIGN) & p.bias;
                        x = x.wrapping_sub(x.wrapping_add(b) >> p.s);
                    }
                    if POST {
                        x = x.wrapping_add(pre_eff[i]);
                    }
                    x = x.wrapping_sub(pre_mask[i] & post_old);
                    x = x.max(p.e_lo).min(p.e_hi);
                    e[i] = x;
                    if LEARN {
                        let d = r.wrapping_mul(x) >> p.l;
                        w[i] = w[i].wrapping_add(d).max(0).min(p.w_hi);
                    }
                }
            }

            #[inline(always)]
            fn rows_generic(w: &mut [$x], e: &mut [$x], n_pre: usize, pre_eff: &[$x], pre_mask: &[$x],
                            post_on: &[$x], post_old: &[$x], r: &[$x], decay: bool, p: RowParams<$x>) {
                if n_pre == 0 {
                    return;
                }
                for (j, (wr, er)) in w.chunks_exact_mut(n_pre).zip(e.chunks_exact_mut(n_pre)).enumerate() {
                    let (on, old, rj) = (post_on[j], post_old[j], r[j]);
                    macro_rules! go {
                        ($d:literal, $l:literal, $q:literal) => {
                            row::<$d, $l, $q>(wr, er, pre_eff, pre_mask, old, rj, p)
                        };
                    }
                    match (decay, rj != 0, on != 0) {
                        (true, true, true) => go!(true, true, true),
                        (true, true, false) => go!(true, true, false),
                        (true, false, true) => go!(true, false, true),
                        (true, false, false) => go!(true, false, false),
                        (false, true, true) => go!(false, true, true),
                        (false, true, false) => go!(false, true, false),
                        (false, false, true) => go!(false, false, true),
                        (false, false, false) => go!(false, false, false),
                    }
                }
            }

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            unsafe fn rows_avx2(w: &mut [$x], e: &mut [$x], n_pre: usize, pre_eff: &[$x], pre_mask: &[$x],
                                post_on: &[$x], post_old: &[$x], r: &[$x], decay: bool, p: RowParams<$x>) {
                rows_generic(w, e, n_pre, pre_eff, pre_mask, post_on, post_old, r, decay, p)
            }

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2")]
            unsafe fn rows_avx512(w: &mut [$x], e: &mut [$x], n_pre: usize, pre_eff: &[$x], pre_mask: &[$x],
                                  post_on: &[$x], post_old: &[$x], r: &[$x], decay: bool, p: RowParams<$x>) {
                rows_generic(w, e, n_pre, pre_eff, pre_mask, post_on, post_old, r, decay, p)
            }

            /// Rows `w.len() / n_pre` of the layer (a contiguous block), dispatched at run time to AVX-512 or
            /// AVX2 when the CPU has them (same arithmetic, wider vectors); portable code otherwise.
            pub fn rows(w: &mut [$x], e: &mut [$x], n_pre: usize, pre_eff: &[$x], pre_mask: &[$x],
                        post_on: &[$x], post_old: &[$x], r: &[$x], decay: bool, p: RowParams<$x>) {
                #[cfg(target_arch = "x86_64")]
                {
                    let isa = super::simd_level();
                    if isa >= 2 {
                        // SAFETY: the CPU supports these features (simd_level checked them).
                        unsafe { rows_avx512(w, e, n_pre, pre_eff, pre_mask, post_on, post_old, r, decay, p) };
                        return;
                    }
                    if isa == 1 {
                        // SAFETY: the CPU supports AVX2 (checked just above).
                        unsafe { rows_avx2(w, e, n_pre, pre_eff, pre_mask, post_on, post_old, r, decay, p) };
                        return;
                    }
                }
                rows_generic(w, e, n_pre, pre_eff, pre_mask, post_on, post_old, r, decay, p)
            }
        }
    };
}

layer_kernels!(k32, i32);
layer_kernels!(k64, i64);

/// State buffers of one word type, plus per-step scratch.
struct Buffers<X> {
    w: Vec<X>,
    e: Vec<X>,
    pre: Vec<X>,
    post: Vec<X>,
    pre_eff: Vec<X>,
    pre_mask: Vec<X>,
    post_on: Vec<X>,
    post_old: Vec<X>,
    r: Vec<X>,
}

fn zeros<X: Copy + Default>(n: usize) -> Option<Vec<X>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).ok()?;
    v.resize(n, X::default());
    Some(v)
}

impl<X: Copy + Default> Buffers<X> {
    fn new(n_pre: usize, n_post: usize) -> Option<Self> {
        let n = n_pre.checked_mul(n_post)?;
        Some(Buffers {
            w: zeros(n)?,
            e: zeros(n)?,
            pre: zeros(n_pre)?,
            post: zeros(n_post)?,
            pre_eff: zeros(n_pre)?,
            pre_mask: zeros(n_pre)?,
            post_on: zeros(n_post)?,
            post_old: zeros(n_post)?,
            r: zeros(n_post)?,
        })
    }
}

enum Words {
    I32(Buffers<i32>),
    I64(Buffers<i64>),
}

pub struct Layer {
    cfg: Config,
    n_pre: usize,
    n_post: usize,
    n_threads: usize,
    words: Words,
}

macro_rules! layer_step_impl {
    ($fname:ident, $x:ty, $kmod:ident) => {
        fn $fname(cfg: &Config, b: &mut Buffers<$x>, n_pre: usize, n_threads: usize, pre_sp: &[u8],
                  post_sp: &[u8], rewards: Option<&[i64]>, reward: i64) {
            let m = cfg.max_trace() as $x;
            let s = cfg.s_shift;
            let decay = cfg.decays();
            for i in 0..n_pre {
                let spk = pre_sp[i] == 1;
                b.pre_eff[i] = if spk { m } else { b.pre[i] };
                b.pre_mask[i] = if spk { -1 } else { 0 };
            }
            let n_post = b.post.len();
            for j in 0..n_post {
                b.post_on[j] = if post_sp[j] == 1 { -1 } else { 0 };
                b.post_old[j] = b.post[j];
                let rj = match rewards {
                    Some(rs) => rs[j],
                    None => reward,
                };
                b.r[j] = cfg.sat_reward(rj) as $x;
            }
            let p = RowParams::<$x> {
                s,
                bias: (((1i64 << s) - 1) as $x),
                e_lo: cfg.e_min() as $x,
                e_hi: cfg.e_max() as $x,
                w_hi: cfg.max_weight() as $x,
                l: cfg.l_shift,
            };
            let (pre_eff, pre_mask) = (&b.pre_eff[..], &b.pre_mask[..]);
            let (post_on, post_old, r) = (&b.post_on[..], &b.post_old[..], &b.r[..]);
            let n_syn = n_pre * n_post;
            let threads = if n_threads > 1 && n_syn >= THREAD_MIN_SYNAPSES && n_post >= n_threads {
                n_threads
            } else {
                1
            };
            if threads == 1 {
                $kmod::rows(&mut b.w, &mut b.e, n_pre, pre_eff, pre_mask, post_on, post_old, r, decay, p);
            } else {
                let rows_per = n_post.div_ceil(threads);
                let chunk = rows_per * n_pre;
                std::thread::scope(|sc| {
                    for (k, (wc, ec)) in b.w.chunks_mut(chunk).zip(b.e.chunks_mut(chunk)).enumerate() {
                        let j0 = k * rows_per;
                        let j1 = j0 + wc.len() / n_pre;
                        let (on, old, rr) = (&post_on[j0..j1], &post_old[j0..j1], &r[j0..j1]);
                        sc.spawn(move || $kmod::rows(wc, ec, n_pre, pre_eff, pre_mask, on, old, rr, decay, p));
                    }
                });
            }
            for i in 0..n_pre {
                b.pre[i] = if pre_sp[i] == 1 { m } else if s > 0 { b.pre[i] - (b.pre[i] >> s) } else { b.pre[i] };
            }
            for j in 0..n_post {
                b.post[j] = if post_sp[j] == 1 { m } else if s > 0 { b.post[j] - (b.post[j] >> s) } else { b.post[j] };
            }
        }
    };
}

layer_step_impl!(layer_step_i32, i32, k32);
layer_step_impl!(layer_step_i64, i64, k64);

/// A new layer of `n_post x n_pre` synapses with zero state, or NULL on a bad config, size, or failed
/// allocation. `n_threads`: 0 = as many as the machine has, 1 = single-threaded, k = at most k (threads
/// are used only for layers of at least 2^17 synapses).
#[no_mangle]
pub extern "C" fn pc_o1_layer_new(
    weight_bits: i32,
    trace_bits: i32,
    reward_bits: i32,
    learning_shift: i32,
    trace_decay_shift: i32,
    n_pre: i64,
    n_post: i64,
    n_threads: i32,
) -> *mut Layer {
    guard(std::ptr::null_mut(), || {
        let Some(cfg) = Config::new(weight_bits, trace_bits, reward_bits, learning_shift, trace_decay_shift) else {
            return std::ptr::null_mut();
        };
        if !(0..=MAX_NEURONS).contains(&n_pre) || !(0..=MAX_NEURONS).contains(&n_post) || n_threads < 0 {
            return std::ptr::null_mut();
        }
        let (a, b) = (n_pre as usize, n_post as usize);
        let words = if cfg.narrow() {
            Buffers::<i32>::new(a, b).map(Words::I32)
        } else {
            Buffers::<i64>::new(a, b).map(Words::I64)
        };
        let Some(words) = words else {
            return std::ptr::null_mut();
        };
        let threads = if n_threads == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        } else {
            n_threads as usize
        };
        Box::into_raw(Box::new(Layer { cfg, n_pre: a, n_post: b, n_threads: threads, words }))
    })
}

/// Free a layer from `pc_o1_layer_new` (NULL is ignored).
///
/// # Safety
/// `h` must be NULL or a handle from `pc_o1_layer_new` not yet freed; pointers from `pc_o1_layer_field_ptr`
/// become invalid.
#[no_mangle]
pub unsafe extern "C" fn pc_o1_layer_free(h: *mut Layer) {
    if !h.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(h))));
    }
}

/// 4 (i32 words) or 8 (i64 words); 0 for a NULL handle.
///
/// # Safety
/// `h` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pc_o1_layer_word_bytes(h: *const Layer) -> i32 {
    if h.is_null() {
        return 0;
    }
    match (*h).words {
        Words::I32(_) => 4,
        Words::I64(_) => 8,
    }
}

/// Pointer to a state buffer: field 0 = weight, 1 = eligibility (`n_post * n_pre`, row-major),
/// 2 = pre_trace (`n_pre`), 3 = post_trace (`n_post`); NULL for a NULL handle or another field. The
/// buffers never move while the layer lives. Values written there must stay in their ranges (the
/// kernel then stays exact; out-of-range values give wrapped, not undefined, results).
///
/// # Safety
/// `h` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn pc_o1_layer_field_ptr(h: *mut Layer, field: i32) -> *mut std::ffi::c_void {
    if h.is_null() {
        return std::ptr::null_mut();
    }
    macro_rules! pick {
        ($b:expr) => {
            match field {
                0 => $b.w.as_mut_ptr() as *mut std::ffi::c_void,
                1 => $b.e.as_mut_ptr() as *mut std::ffi::c_void,
                2 => $b.pre.as_mut_ptr() as *mut std::ffi::c_void,
                3 => $b.post.as_mut_ptr() as *mut std::ffi::c_void,
                _ => std::ptr::null_mut(),
            }
        };
    }
    match &mut (*h).words {
        Words::I32(b) => pick!(b),
        Words::I64(b) => pick!(b),
    }
}

/// One step of every synapse. `pre_spikes` (`n_pre` bytes) and `post_spikes` (`n_post` bytes) hold 0/1;
/// `rewards` is NULL (then `reward` applies to every post neuron) or `n_post` values; rewards saturate
/// to the reward range. Spikes are checked before anything changes (`-2` leaves the state untouched).
///
/// # Safety
/// `h` must be a live handle; the arrays must be valid for the stated lengths (NULL only when empty).
#[no_mangle]
pub unsafe extern "C" fn pc_o1_layer_step(h: *mut Layer, pre_spikes: *const u8, post_spikes: *const u8,
                                          reward: i64, rewards: *const i64) -> i32 {
    if h.is_null() {
        return PC_ERR_HANDLE;
    }
    let layer = &mut *h;
    let (n_pre, n_post) = (layer.n_pre, layer.n_post);
    if (pre_spikes.is_null() && n_pre > 0) || (post_spikes.is_null() && n_post > 0) {
        return PC_ERR_POINTER;
    }
    guard(PC_ERR_PANIC, || {
        let pre: &[u8] = if n_pre > 0 { std::slice::from_raw_parts(pre_spikes, n_pre) } else { &[] };
        let post: &[u8] = if n_post > 0 { std::slice::from_raw_parts(post_spikes, n_post) } else { &[] };
        if pre.iter().chain(post.iter()).any(|&x| x > 1) {
            return PC_ERR_SPIKE;
        }
        let rs: Option<&[i64]> = if rewards.is_null() {
            None
        } else if n_post > 0 {
            Some(std::slice::from_raw_parts(rewards, n_post))
        } else {
            Some(&[])
        };
        let (cfg, threads) = (layer.cfg, layer.n_threads);
        match &mut layer.words {
            Words::I32(b) => layer_step_i32(&cfg, b, n_pre, threads, pre, post, rs, reward),
            Words::I64(b) => layer_step_i64(&cfg, b, n_pre, threads, pre, post, rs, reward),
        }
        PC_OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_configs_give_null() {
        assert!(pc_o1_synapse_new(0, 12, 8, 4, 4, 0).is_null());
        assert!(pc_o1_synapse_new(16, 1, 8, 4, 4, 0).is_null());
        assert!(pc_o1_synapse_new(16, 12, 8, 4, 31, 0).is_null());
        assert!(pc_o1_synapse_new(8, 12, 8, 4, 4, 256).is_null());
        assert!(pc_o1_layer_new(16, 12, 8, 4, 4, -1, 3, 1).is_null());
        assert!(pc_o1_layer_new(16, 12, 8, 4, 4, 3, 1 << 25, 1).is_null());
    }

    #[test]
    fn null_handles_are_errors() {
        let mut out = [0i64; 4];
        unsafe {
            assert_eq!(pc_o1_synapse_step(std::ptr::null_mut(), 0, 0, 0, out.as_mut_ptr()), PC_ERR_HANDLE);
            assert_eq!(pc_o1_layer_step(std::ptr::null_mut(), std::ptr::null(), std::ptr::null(), 0,
                                        std::ptr::null()), PC_ERR_HANDLE);
            pc_o1_synapse_free(std::ptr::null_mut());
            pc_o1_layer_free(std::ptr::null_mut());
        }
    }

    #[test]
    fn layer_matches_scalar() {
        let cfgs = [(16, 12, 8, 4, 4), (31, 30, 30, 0, 1), (1, 2, 1, 30, 30), (8, 6, 4, 3, 0)];
        for &(w, t, r, l, s) in &cfgs {
            let (n_pre, n_post) = (5usize, 3usize);
            let h = pc_o1_layer_new(w, t, r, l, s, n_pre as i64, n_post as i64, 1);
            assert!(!h.is_null());
            let c = Config::new(w, t, r, l, s).unwrap();
            let mut syn = vec![[0i64; 4]; n_pre * n_post];
            let mut seed = 12345u64;
            let mut rnd = || {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed
            };
            for _ in 0..200 {
                let pre: Vec<u8> = (0..n_pre).map(|_| (rnd() % 3 == 0) as u8).collect();
                let post: Vec<u8> = (0..n_post).map(|_| (rnd() % 3 == 0) as u8).collect();
                let rw: Vec<i64> = (0..n_post).map(|_| (rnd() % 2001) as i64 - 1000).collect();
                unsafe { assert_eq!(pc_o1_layer_step(h, pre.as_ptr(), post.as_ptr(), 0, rw.as_ptr()), PC_OK) };
                for j in 0..n_post {
                    for i in 0..n_pre {
                        let k = j * n_pre + i;
                        syn[k] = synapse_step(&c, syn[k], pre[i] == 1, post[j] == 1, rw[j]);
                    }
                }
            }
            unsafe {
                let bytes = pc_o1_layer_word_bytes(h);
                for j in 0..n_post {
                    for i in 0..n_pre {
                        let k = j * n_pre + i;
                        let get = |f: i32, idx: usize| -> i64 {
                            let p = pc_o1_layer_field_ptr(h, f);
                            if bytes == 4 { *(p as *const i32).add(idx) as i64 } else { *(p as *const i64).add(idx) }
                        };
                        assert_eq!([get(0, k), get(2, i), get(3, j), get(1, k)], syn[k]);
                    }
                }
                pc_o1_layer_free(h);
            }
        }
    }
}
