//! Data-parallel training: each minibatch is split into a fixed number of shards, and each
//! shard's forward and backward pass runs on its own thread.
//!
//! Shard 0 runs on the trained [`Net`] itself, on the calling thread; shard `s > 0` runs on
//! a replica, a copy of the network whose weights are refreshed from the trained one at the
//! start of every call, so no thread sees memory another one writes. Each shard divides its
//! per-row terms by the rows of the whole batch, so the shards' gradients add up to the
//! gradient of the batch mean; they are added into the trained network's gradients in shard
//! order, whatever order the threads finish in. The noise of every row is fixed by the seed
//! drawn for it on the calling thread ([`Net::row_seeds`]).
//!
//! So a run is bit-reproducible, and bit-identical whether the shards run in parallel or
//! one after the other ([`DataParallel::sequential`]); it differs from a run with another
//! number of shards only in the order of float additions. That is why the number of shards
//! is a setting of the run and not the machine's core count.
//!
//! The sparse autoencoder's penalty KL(ρ ‖ ρ̂) depends on the code's mean ρ̂ over the whole
//! batch, which no shard sees alone: its loss runs in two rounds, the encoder passes of all
//! shards first, then ρ̂ from all of them (summed in shard order on the calling thread),
//! then the rest of every shard's pass, backward included, with that ρ̂. The other
//! variants run both phases in one round.
//!
//! [`DataParallel::step`] runs the Adam step with the layers split into as many groups,
//! each on its own thread: the same update as [`Net::step`], bit for bit.
//!
//! The shards' threads live as long as the [`DataParallel`] (a small pool fed through
//! channels) rather than being spawned per minibatch with `std::thread::scope`: spawning
//! and joining a thread measured 65 µs on the 2-core benchmark machine, 8 % of a
//! 2-thread step of the benchmark model, against 6–14 µs for a channel round trip. A
//! replica and its inputs are moved to its thread for the round and moved back, so
//! everything a thread touches is owned by it for that time (no locks, no `unsafe`).
//!
//! Per-step allocations matter here: once the process has a second thread, glibc giving
//! freed memory back to the system and taking it again (heap trim, mmap) costs more (page
//! faults, TLB shootdowns across cores). With `Dense` and `Mlp::backward` allocating their
//! gradient buffers anew each step, an idle worker thread cut the one-thread step of the
//! benchmark model from about 190 k to 160 k samples/s; they now keep those buffers. The
//! rest (`Mlp::forward`'s output copy, `Net::shard_loss`'s buffers) still allocate.

use std::num::NonZeroUsize;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::learned::nn::{Adam, Dense, Mlp};
use crate::learned::variants::{EncoderPass, LossParts, Net, ShardLoss, Variant};
use crate::Rng;

/// Runs a network's loss and gradients over shards of each minibatch on threads.
#[derive(Debug)]
pub struct DataParallel {
    shards: NonZeroUsize,
    threaded: bool,
    /// Shards 1.. (shard 0 runs on the trained network), while no thread holds them.
    replicas: Vec<Replica>,
    /// Threads for shards 1.., started on first use.
    pool: Option<Pool>,
}

/// A shard's network and its part of the batch.
#[derive(Debug)]
struct Replica {
    net: Net,
    x: Vec<f32>,
    y: Vec<f32>,
    seeds: Vec<u64>,
    rows: usize,
    pass: EncoderPass,
}

impl Replica {
    fn forward(&mut self) {
        self.pass = self
            .net
            .shard_forward(&self.x, &self.y, &self.seeds, self.rows);
    }

    fn loss(&mut self, batch: usize, step: usize, rho_hat: &[f64], backward: bool) -> ShardLoss {
        self.net
            .shard_loss(&self.x, &self.y, &self.pass, batch, step, rho_hat, backward)
    }
}

impl DataParallel {
    /// `shards` shards per minibatch, each on its own thread (shard 0 on the caller's).
    pub fn new(shards: NonZeroUsize) -> Self {
        DataParallel {
            shards,
            threaded: true,
            replicas: Vec::new(),
            pool: None,
        }
    }

    /// The same shards run one after the other on the calling thread: the same results,
    /// bit for bit, as [`DataParallel::new`] (for tests and profiling).
    pub fn sequential(shards: NonZeroUsize) -> Self {
        DataParallel {
            threaded: false,
            ..DataParallel::new(shards)
        }
    }

    /// Shards per minibatch.
    pub fn shards(&self) -> NonZeroUsize {
        self.shards
    }

    /// [`Net::batch_loss`] of `net` on a batch of `batch` rows, computed in shards: the
    /// loss of the batch, and with `backward` its gradients accumulated into `net` (as with
    /// [`Net::batch_loss`], the caller clears them with [`Net::zero_grad`]).
    #[allow(clippy::too_many_arguments)]
    pub fn batch_loss(
        &mut self,
        net: &mut Net,
        x: &[f32],
        y: &[f32],
        batch: usize,
        step: usize,
        rng: &mut Rng,
        backward: bool,
    ) -> LossParts {
        let seeds = net.row_seeds(batch, rng);
        let (n, l) = (net.input, net.labels);
        // Even split (the earlier shards one row shorter when it does not divide); empty
        // shards (a batch smaller than the shard count) are left out.
        let s = self.shards.get();
        let bounds: Vec<(usize, usize)> = (0..s)
            .map(|i| (i * batch / s, (i + 1) * batch / s))
            .filter(|(a, b)| b > a)
            .collect();
        let (a0, b0) = bounds.first().copied().unwrap_or((0, 0));
        let (x0, y0) = (&x[a0 * n..b0 * n], &y[a0 * l..b0 * l]);
        let seeds0 = seeds.get(a0..b0).unwrap_or(&[]);
        self.sync_replicas(net, bounds.get(1..).unwrap_or(&[]), x, y, &seeds, backward);

        let (parts, rho_hat) = if matches!(net.variant, Variant::Sparse { .. }) {
            let (pass0, _) = self.round(
                || net.shard_forward(x0, y0, seeds0, b0 - a0),
                |r| r.forward(),
            );
            let rho_hat = {
                let passes: Vec<&EncoderPass> = std::iter::once(&pass0)
                    .chain(self.replicas.iter().map(|r| &r.pass))
                    .collect();
                net.rho_hat(&passes, batch)
            };
            let rh = rho_hat.clone();
            let (part0, parts) = self.round(
                || net.shard_loss(x0, y0, &pass0, batch, step, &rho_hat, backward),
                move |r| r.loss(batch, step, &rh, backward),
            );
            (std::iter::once(part0).chain(parts).collect(), rho_hat)
        } else {
            let (part0, parts) = self.round(
                || {
                    let pass = net.shard_forward(x0, y0, seeds0, b0 - a0);
                    net.shard_loss(x0, y0, &pass, batch, step, &[], backward)
                },
                move |r| {
                    r.forward();
                    r.loss(batch, step, &[], backward)
                },
            );
            let parts: Vec<ShardLoss> = std::iter::once(part0).chain(parts).collect();
            (parts, Vec::new())
        };

        if backward {
            for r in &self.replicas {
                add_grads(&mut net.enc, &r.net.enc);
                add_grads(&mut net.dec, &r.net.dec);
            }
        }
        net.combine(&parts, &rho_hat, batch, step)
    }

    /// One round: `on_replica` on every replica, each on its pool thread when threaded,
    /// while `on_main` runs on the calling thread; results in shard order.
    fn round<M, T, F>(&mut self, on_main: impl FnOnce() -> M, on_replica: F) -> (M, Vec<T>)
    where
        T: Send + 'static,
        F: Fn(&mut Replica) -> T + Clone + Send + 'static,
    {
        let pool = self.threaded.then_some(&mut self.pool);
        let (main, back) = scatter(
            pool,
            on_main,
            std::mem::take(&mut self.replicas),
            on_replica,
        );
        let mut rest = Vec::with_capacity(back.len());
        for (r, out) in back {
            self.replicas.push(r);
            rest.push(out);
        }
        (main, rest)
    }

    /// One Adam step on `net` from its gradients, as [`Net::step`] (the same result bit for
    /// bit: every parameter's update is independent of the others), with the layers that
    /// learn (not the decoder's in [`crate::learned::variants::Qat::Hard`]) split into as
    /// many groups of about equal size as there are shards, each group on its own thread.
    pub fn step(&mut self, net: &mut Net, opt: &Adam) {
        let n_enc = net.enc.layers.len();
        let decoder = net.learns_decoder();
        let n_dec = if decoder { net.dec.layers.len() } else { 0 };
        let groups = self.shards.get().min(n_enc + n_dec);
        if !self.threaded || groups < 2 {
            net.step(opt);
            return;
        }
        let mut layers: Vec<Dense> = std::mem::take(&mut net.enc.layers);
        if decoder {
            layers.append(&mut net.dec.layers);
        }
        // Contiguous groups: cut j at the layer boundary whose parameter count before it is
        // closest to j/groups of the total.
        let mut prefix = vec![0usize];
        for l in &layers {
            prefix.push(prefix[prefix.len() - 1] + l.w.len() + l.b.len());
        }
        let total = prefix[layers.len()];
        let mut cuts: Vec<usize> = Vec::with_capacity(groups);
        for j in 1..groups {
            let target = j * total / groups;
            let after = cuts.last().map_or(1, |&c| c + 1);
            match (after..layers.len()).min_by_key(|&i| prefix[i].abs_diff(target)) {
                Some(c) => cuts.push(c),
                None => break,
            }
        }
        let mut parts: Vec<Vec<Dense>> = Vec::with_capacity(cuts.len() + 1);
        for &c in cuts.iter().rev() {
            parts.push(layers.split_off(c));
        }
        parts.reverse();
        let first = layers;
        let o = opt.clone();
        let pool = self.threaded.then_some(&mut self.pool);
        let (mut first, rest) = scatter(
            pool,
            move || {
                let mut first = first;
                first.iter_mut().for_each(|l| l.step(opt));
                first
            },
            parts,
            move |g: &mut Vec<Dense>| g.iter_mut().for_each(|l| l.step(&o)),
        );
        for (mut g, ()) in rest {
            first.append(&mut g);
        }
        if decoder {
            net.dec.layers = first.split_off(n_enc.min(first.len()));
        }
        net.enc.layers = first;
    }

    /// Makes one replica per shard in `bounds` (row ranges of the batch), each a copy of
    /// `net`'s weights and settings holding its rows, with its gradients cleared when
    /// `backward`.
    fn sync_replicas(
        &mut self,
        net: &Net,
        bounds: &[(usize, usize)],
        x: &[f32],
        y: &[f32],
        seeds: &[u64],
        backward: bool,
    ) {
        let (n, l) = (net.input, net.labels);
        self.replicas.truncate(bounds.len());
        for r in &mut self.replicas {
            if same_shape(&r.net, net) {
                r.net.variant = net.variant;
                r.net.qat.clone_from(&net.qat);
                copy_weights(&mut r.net.enc, &net.enc);
                copy_weights(&mut r.net.dec, &net.dec);
                if backward {
                    r.net.zero_grad();
                }
            } else {
                r.net = fresh_copy(net);
            }
        }
        while self.replicas.len() < bounds.len() {
            self.replicas.push(Replica {
                net: fresh_copy(net),
                x: Vec::new(),
                y: Vec::new(),
                seeds: Vec::new(),
                rows: 0,
                pass: EncoderPass::default(),
            });
        }
        for (r, &(a, b)) in self.replicas.iter_mut().zip(bounds) {
            r.rows = b - a;
            r.x.clear();
            r.x.extend_from_slice(&x[a * n..b * n]);
            r.y.clear();
            r.y.extend_from_slice(&y[a * l..b * l]);
            r.seeds.clear();
            r.seeds.extend_from_slice(seeds.get(a..b).unwrap_or(&[]));
        }
    }
}

/// Runs `f` on every item, each on its own pool thread when `pool` is given (started on
/// first use), else one after the other, while `on_main` runs on the calling thread; gives
/// the items back with their results, in order. A task is moved to its thread with the
/// item it owns and moved back, so no memory is shared.
fn scatter<M, I, T, F>(
    pool: Option<&mut Option<Pool>>,
    on_main: impl FnOnce() -> M,
    items: Vec<I>,
    f: F,
) -> (M, Vec<(I, T)>)
where
    I: Send + 'static,
    T: Send + 'static,
    F: Fn(&mut I) -> T + Clone + Send + 'static,
{
    let Some(pool) = pool.filter(|_| !items.is_empty()) else {
        let main = on_main();
        let back = items
            .into_iter()
            .map(|mut it| {
                let out = f(&mut it);
                (it, out)
            })
            .collect();
        return (main, back);
    };
    let count = items.len();
    let pool = pool.get_or_insert_with(Pool::default);
    pool.grow(count);
    let (tx, rx) = mpsc::channel();
    for (i, mut it) in items.into_iter().enumerate() {
        let (f, tx) = (f.clone(), tx.clone());
        pool.submit(
            i,
            Box::new(move || {
                let out = f(&mut it);
                // The receiver only goes away if the calling thread panicked.
                let _ = tx.send((i, it, out));
            }),
        );
    }
    drop(tx);
    let main = on_main();
    let mut back: Vec<Option<(I, T)>> = (0..count).map(|_| None).collect();
    while let Ok((i, it, out)) = recv_spinning(&rx) {
        if let Some(slot) = back.get_mut(i) {
            *slot = Some((it, out));
        }
    }
    let back = back
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            // A task only drops its sender without sending if it panicked; its thread has
            // printed the panic.
            b.unwrap_or_else(|| panic!("training task {} panicked on its thread", i + 1))
        })
        .collect();
    (main, back)
}

/// A copy of `net` with cleared gradients.
fn fresh_copy(net: &Net) -> Net {
    let mut r = net.clone();
    r.zero_grad();
    r
}

fn same_shape(a: &Net, b: &Net) -> bool {
    let dims = |m: &Mlp| -> Vec<(usize, usize)> {
        m.layers.iter().map(|l| (l.in_dim, l.out_dim)).collect()
    };
    (a.input, a.labels, a.latent) == (b.input, b.labels, b.latent)
        && dims(&a.enc) == dims(&b.enc)
        && dims(&a.dec) == dims(&b.dec)
}

fn copy_weights(to: &mut Mlp, from: &Mlp) {
    for (t, f) in to.layers.iter_mut().zip(&from.layers) {
        t.activation = f.activation;
        t.w.copy_from_slice(&f.w);
        t.b.copy_from_slice(&f.b);
    }
}

fn add_grads(to: &mut Mlp, from: &Mlp) {
    for (t, f) in to.layers.iter_mut().zip(&from.layers) {
        t.gw.iter_mut().zip(&f.gw).for_each(|(a, &b)| *a += b);
        t.gb.iter_mut().zip(&f.gb).for_each(|(a, &b)| *a += b);
    }
}

/// How long a thread waiting for a task or a result polls before it sleeps. Waking a
/// sleeping thread is slow on the 2-core benchmark VM (its idle vCPU has to be woken too):
/// with the threads polling, the benchmark step took 714 µs instead of 750 µs (best of 60
/// interleaved runs each). The gaps between a step's rounds (gathering the next batch,
/// copying weights to the replicas, adding gradients) are shorter than this, so a training
/// loop's threads do not sleep; once training stops they sleep after this long. Polling
/// yields the core, so a thread of ours or of another process that shares it still runs.
const SPIN: Duration = Duration::from_micros(200);

/// `rx.recv()`, polling for up to [`SPIN`] before blocking.
fn recv_spinning<T>(rx: &mpsc::Receiver<T>) -> Result<T, mpsc::RecvError> {
    let start = Instant::now();
    loop {
        for _ in 0..16 {
            match rx.try_recv() {
                Ok(v) => return Ok(v),
                Err(mpsc::TryRecvError::Disconnected) => return Err(mpsc::RecvError),
                Err(mpsc::TryRecvError::Empty) => std::thread::yield_now(),
            }
        }
        if start.elapsed() > SPIN {
            return rx.recv();
        }
    }
}

type Task = Box<dyn FnOnce() + Send>;

/// Worker threads, one per shard after the first (they also run the Adam step's layer
/// groups after the first), each running the tasks sent to it in order; they end
/// when the pool is dropped.
#[derive(Debug, Default)]
struct Pool {
    workers: Vec<(mpsc::Sender<Task>, JoinHandle<()>)>,
}

impl Pool {
    fn grow(&mut self, count: usize) {
        while self.workers.len() < count {
            let (tx, rx) = mpsc::channel::<Task>();
            let handle = std::thread::spawn(move || {
                while let Ok(task) = recv_spinning(&rx) {
                    task();
                }
            });
            self.workers.push((tx, handle));
        }
    }

    fn submit(&self, worker: usize, task: Task) {
        if let Some((tx, _)) = self.workers.get(worker) {
            // A send fails only if the worker thread is gone (a task panicked on it); the
            // task, and with it its result channel's sender, is then dropped, and the
            // round reports the shard as panicked.
            let _ = tx.send(task);
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        for (tx, handle) in self.workers.drain(..) {
            drop(tx);
            // A worker that panicked has already printed it; nothing more to do here.
            let _ = handle.join();
        }
    }
}
