//! Reading many small files on every core: a repository of thousands of images spends its
//! planning time in `open` and `read`, which the kernel runs side by side.

/// `work` applied to each item, on up to as many threads as the machine has cores (four at
/// most), the results in the items' order. A short list stays on the calling thread.
pub(crate) fn map_in_order<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    const AT_LEAST_PER_THREAD: usize = 64;
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(4)
        .min(items.len() / AT_LEAST_PER_THREAD)
        .max(1);
    if threads == 1 {
        return items.iter().map(&work).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(work).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| match handle.join() {
                Ok(results) => results,
                // A panic in `work` is a bug: let it surface as it would on one thread.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::map_in_order;

    #[test]
    fn results_keep_the_items_order() {
        let items: Vec<usize> = (0..1000).collect();
        assert_eq!(
            map_in_order(&items, |item| item * 2),
            items.iter().map(|item| item * 2).collect::<Vec<_>>()
        );
        assert_eq!(map_in_order(&[1, 2], |item| item + 1), [2, 3]);
        assert!(map_in_order(&Vec::<u8>::new(), |item| *item).is_empty());
    }
}
