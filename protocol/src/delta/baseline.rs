//! The view a delta is encoded against, as the encoder reads it.

use crate::view::ViewEntry;

/// A client's baseline: the view it holds, sorted by id.
///
/// A server that cuts every view from a shared snapshot need not copy each
/// client's view to keep it as the next baseline: it can keep the snapshot
/// and the indices of the view's entities in it ([`BaselineView::Picked`]).
/// Between snapshots a client's baseline is then four bytes per entity rather
/// than a whole entry, and the entries read while encoding are the snapshot's,
/// which the other viewers read too.
#[derive(Debug, Clone, Copy)]
pub enum BaselineView<'a> {
    /// The entries themselves.
    Entries(&'a [ViewEntry]),
    /// The entries of `entities` at `indices` (ascending by id), except that
    /// the entry at position `own.0` of the view is `own.1` (a viewer's own
    /// entity carries fields the shared snapshot leaves out).
    Picked {
        /// The snapshot's entities.
        entities: &'a [ViewEntry],
        /// The view's entities, as indices into `entities`.
        indices: &'a [u32],
        /// The viewer's own entry and its position in the view, if in it.
        own: Option<(usize, &'a ViewEntry)>,
    },
}

impl<'a> BaselineView<'a> {
    /// Entities in the view.
    pub fn len(&self) -> usize {
        match self {
            Self::Entries(e) => e.len(),
            Self::Picked { indices, .. } => indices.len(),
        }
    }

    /// Whether the view is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th entry of the view, if there is one.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a ViewEntry> {
        match *self {
            Self::Entries(e) => e.get(i),
            Self::Picked {
                entities,
                indices,
                own,
            } => match own {
                Some((at, entry)) if at == i => Some(entry),
                _ => indices.get(i).and_then(|&k| entities.get(k as usize)),
            },
        }
    }
}

impl<'a> From<&'a [ViewEntry]> for BaselineView<'a> {
    fn from(entries: &'a [ViewEntry]) -> Self {
        Self::Entries(entries)
    }
}

impl<'a> From<&'a Vec<ViewEntry>> for BaselineView<'a> {
    fn from(entries: &'a Vec<ViewEntry>) -> Self {
        Self::Entries(entries)
    }
}
