//! Work spread over the machine's threads where every item stands alone, so that the
//! result does not depend on how many there are.

/// `f(first, chunk)` over `items` cut into contiguous chunks, one per thread of the
/// machine (but no chunk under `min_chunk` items), with `first` the index of the
/// chunk's first item; the chunks' results in item order. For work in which every item
/// stands alone, so that the result is the same on any number of threads (unlike
/// [`crate::learned::parallel::DataParallel`]'s shards, whose count is a setting of the run).
pub fn map_chunks<T, R, F>(items: &[T], min_chunk: usize, f: F) -> Result<Vec<R>, crate::Error>
where
    T: Sync,
    R: Send,
    F: Fn(usize, &[T]) -> R + Sync,
{
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, items.len().div_ceil(min_chunk.max(1)).max(1));
    if threads == 1 {
        return Ok(vec![f(0, items)]);
    }
    let per = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(per)
            .enumerate()
            .map(|(k, chunk)| scope.spawn(move || f(k * per, chunk)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| crate::Error::InvalidArgument("a worker thread panicked".into()))
            })
            .collect()
    })
}
