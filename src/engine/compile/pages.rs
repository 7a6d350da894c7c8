//! Menu pagination for the screen proof: split a static menu's options
//! into pages, each proven to fit with exactly the navigation lines it can
//! carry.

use super::super::lang::Lang;
use super::super::model::{Navigation, Pages};
use super::super::screen::{menu_cost, Cost, NavLines};
use crate::charset::Budget;

/// What one menu is paginated against.
pub(super) struct Menu<'a> {
    /// The wider of the heading and "Invalid choice".
    pub head: Cost,
    /// Each option's label.
    pub costs: &'a [Cost],
    pub keys: &'a Navigation,
    pub lang: Lang,
    pub budget: Budget,
}

impl Menu<'_> {
    /// Pages as `(first, end)` option index ranges (end exclusive), each
    /// as long as fits; `lines(page, more)` are the navigation lines page
    /// `page` carries (`more`: it is not the last page). On failure, the
    /// option that fits on no page and the cost of that smallest page.
    pub fn paginate(
        &self,
        lines: impl Fn(usize, bool) -> NavLines,
    ) -> Result<Pages, (usize, Cost)> {
        let n = self.costs.len();
        let mut out = Vec::new();
        let mut start = 0;
        while start < n {
            let page_cost = |end: usize| {
                let page: Vec<(usize, Cost)> =
                    (start..=end).map(|k| (k + 1, self.costs[k])).collect();
                let nav = lines(out.len(), end + 1 < n);
                menu_cost(self.head, &page, nav, self.keys, self.lang)
            };
            // Costs grow with each option, except that the last page drops
            // `98. More`: try every end, keep the longest page that fits.
            let Some(end) = (start..n).rev().find(|&e| page_cost(e).fits(&self.budget)) else {
                return Err((start, page_cost(start)));
            };
            out.push((start, end + 1));
            start = end + 1;
        }
        Ok(out)
    }

    /// Pages for a screen shown without back history (`0. Back` from page
    /// 2 on, no `00. Home`) and with it (`0. Back` always, `00. Home` off
    /// the start node); `can_have_history` false copies the first.
    pub fn both(
        &self,
        can_have_history: bool,
        is_start: bool,
    ) -> Result<[Pages; 2], (usize, Cost)> {
        let fresh = self.paginate(|page, more| NavLines {
            more,
            back: page > 0,
            home: false,
        });
        let again = match can_have_history {
            true => self.paginate(|_, more| NavLines {
                more,
                back: true,
                home: !is_start,
            }),
            false => fresh.clone(),
        };
        match (fresh, again) {
            (Ok(fresh), Ok(again)) => Ok([fresh, again]),
            (_, Err(e)) | (Err(e), Ok(_)) => Err(e),
        }
    }
}
