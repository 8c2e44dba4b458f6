//! A uniform spatial grid in compressed-row form: cells list the indices of
//! the points inside them, rebuilt in two linear passes with no per-cell allocation.

use tickwire_protocol::sim::Arena;

/// Points bucketed by cell, for area queries.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    cell: i32,
    cols: usize,
    rows: usize,
    /// `starts[c]..starts[c + 1]` indexes `items` for cell `c`.
    starts: Vec<u32>,
    items: Vec<u32>,
}

impl Grid {
    /// An empty grid over `arena` with square cells of `cell` units.
    pub fn new(arena: Arena, cell: i32) -> Self {
        let cols = (arena.width / cell + 1).max(1) as usize;
        let rows = (arena.height / cell + 1).max(1) as usize;
        Self {
            cell,
            cols,
            rows,
            starts: vec![0; cols * rows + 1],
            items: Vec::new(),
        }
    }

    fn cell_of(&self, x: i32, y: i32) -> usize {
        let cx = (x / self.cell).clamp(0, self.cols as i32 - 1) as usize;
        let cy = (y / self.cell).clamp(0, self.rows as i32 - 1) as usize;
        cy * self.cols + cx
    }

    /// Rebuilds the grid from `positions`; a point's index in the slice is what queries return.
    pub fn rebuild(&mut self, positions: &[(i32, i32)]) {
        self.starts.iter_mut().for_each(|s| *s = 0);
        for &(x, y) in positions {
            let c = self.cell_of(x, y);
            self.starts[c + 1] += 1;
        }
        for c in 1..self.starts.len() {
            self.starts[c] += self.starts[c - 1];
        }
        self.items.clear();
        self.items.resize(positions.len(), 0);
        // Fill using `starts` as cursors, then shift back.
        for (i, &(x, y)) in positions.iter().enumerate() {
            let c = self.cell_of(x, y);
            self.items[self.starts[c] as usize] = i as u32;
            self.starts[c] += 1;
        }
        for c in (1..self.starts.len()).rev() {
            self.starts[c] = self.starts[c - 1];
        }
        self.starts[0] = 0;
    }

    /// The indices of points in cells that overlap the rectangle (a superset:
    /// callers check exact bounds), as one slice per row of cells. Within a
    /// cell, indices come in ascending order.
    pub fn rows_overlapping(
        &self,
        min: (i32, i32),
        max: (i32, i32),
    ) -> impl Iterator<Item = &[u32]> + '_ {
        let c0 = self.cell_of(min.0, min.1);
        let c1 = self.cell_of(max.0, max.1);
        let (x0, y0) = (c0 % self.cols, c0 / self.cols);
        let (x1, y1) = (c1 % self.cols, c1 / self.cols);
        (y0..=y1).map(move |cy| {
            let first = self.starts[cy * self.cols + x0] as usize;
            let last = self.starts[cy * self.cols + x1 + 1] as usize;
            &self.items[first..last]
        })
    }

    /// Appends the indices of points in cells that overlap the rectangle (a superset:
    /// callers check exact bounds). Within a cell, indices come in ascending order.
    pub fn query(&self, min: (i32, i32), max: (i32, i32), out: &mut Vec<u32>) {
        for row in self.rows_overlapping(min, max) {
            out.extend_from_slice(row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_find_exactly_the_points_in_overlapping_cells() {
        let arena = Arena {
            width: 1000,
            height: 1000,
        };
        let mut g = Grid::new(arena, 100);
        let pts: Vec<(i32, i32)> = (0..400)
            .map(|i| ((i * 37) % 1000, (i * 91) % 1000))
            .collect();
        g.rebuild(&pts);
        let mut out = Vec::new();
        g.query((250, 250), (449, 549), &mut out);
        let mut expected: Vec<u32> = pts
            .iter()
            .enumerate()
            .filter(|(_, (x, y))| (200..500).contains(x) && (200..600).contains(y))
            .map(|(i, _)| i as u32)
            .collect();
        out.sort_unstable();
        expected.sort_unstable();
        assert_eq!(out, expected);
        // Points outside the arena land in edge cells rather than being lost.
        g.rebuild(&[(-50, 5000)]);
        out.clear();
        g.query((0, 999), (10, 1000), &mut out);
        assert_eq!(out, vec![0]);
    }
}
