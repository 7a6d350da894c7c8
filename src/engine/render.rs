//! Rendering the screen a session waits on (menus, list menus, the
//! language menu, input prompts and errors, the resume offer) with the
//! layout in `screen.rs`, the one the compiler's proof measured.

use super::lang::Ui;
use super::model::NodeKind;
use super::run::{Notice, Run};
use super::screen::{self, NavLines};
use super::session::Value;

impl Run<'_> {
    /// The screen the session waits on, with the pending notice.
    pub fn render(&mut self) -> String {
        let notice = self.notice.take();
        let Some(flow) = self.flow() else {
            return Ui::Unavailable.text(self.lang()).to_string();
        };
        let Some(node) = flow.node(self.s.at.node) else {
            return Ui::Unavailable.text(self.lang()).to_string();
        };
        let lang = flow.lang(self.s.language);
        let look = self.lookup();
        let page = self.s.at.page as usize;
        let back = page > 0 || !self.s.history.is_empty();
        let home = !self.s.history.is_empty() && self.s.at.node != flow.start;
        let heading = |t: &super::template::Template| match notice {
            Some(Notice::InvalidChoice) => Ui::InvalidChoice.text(lang).to_string(),
            _ => t.render(lang, &look),
        };
        match &node.kind {
            NodeKind::Menu {
                text,
                options,
                pages,
            } => {
                let pages = &pages[lang.index()][usize::from(!self.s.history.is_empty())];
                let page = page.min(pages.len().saturating_sub(1));
                let (first, end) = pages.get(page).copied().unwrap_or((0, 0));
                let opts: Vec<(usize, String)> = (first..end)
                    .map(|k| (k + 1, options[k].label.get(lang).render(lang, &look)))
                    .collect();
                let nav = NavLines {
                    more: page + 1 < pages.len(),
                    back: page > 0 || !self.s.history.is_empty(),
                    home,
                };
                screen::menu(&heading(text.get(lang)), &opts, nav, &flow.nav, lang)
            }
            NodeKind::ListMenu {
                text,
                list,
                label,
                per_page,
                ..
            } => {
                let empty = Vec::new();
                let items = match self.s.vars.get(list) {
                    Some(Value::List(items)) => items,
                    _ => &empty,
                };
                let per = per_page[lang.index()].max(1);
                // A page from another language's paging reads as the last.
                let page = page.min(items.len().saturating_sub(1) / per);
                let back = page > 0 || !self.s.history.is_empty();
                let opts: Vec<(usize, String)> = (page * per..((page + 1) * per).min(items.len()))
                    .map(|k| {
                        let item = &items[k];
                        let look_item = |name: &str| match name.strip_prefix("item.") {
                            Some(f) => item.get(f).cloned(),
                            None => look(name),
                        };
                        (k + 1, label.get(lang).render(lang, &look_item))
                    })
                    .collect();
                let nav = NavLines {
                    more: (page + 1) * per < items.len(),
                    back,
                    home,
                };
                screen::menu(&heading(text.get(lang)), &opts, nav, &flow.nav, lang)
            }
            NodeKind::Language { .. } => {
                let head = match notice {
                    Some(Notice::InvalidChoice) => Ui::InvalidChoice.text(lang),
                    _ => Ui::ChooseLanguage.text(lang),
                };
                let opts: Vec<(usize, String)> = flow
                    .languages
                    .iter()
                    .enumerate()
                    .map(|(i, l)| (i + 1, l.native_name().to_string()))
                    .collect();
                screen::menu(
                    head,
                    &opts,
                    NavLines {
                        more: false,
                        back,
                        home,
                    },
                    &flow.nav,
                    lang,
                )
            }
            NodeKind::Input { prompt, error, .. } => {
                let p = prompt.get(lang).render(lang, &look);
                match notice {
                    Some(_) => format!("{}\n{p}", error.get(lang).render(lang, &look)),
                    None => p,
                }
            }
            _ => Ui::Unavailable.text(lang).to_string(),
        }
    }

    /// "title / 1. Continue / 2. Start over".
    pub fn resume_screen(&mut self, invalid: bool) -> String {
        let lang = self.lang();
        let head = match (invalid, self.flow()) {
            (true, _) | (false, None) => Ui::InvalidChoice.text(lang).to_string(),
            (false, Some(f)) => f.title(lang),
        };
        let opts = [
            (1, Ui::Continue.text(lang).to_string()),
            (2, Ui::StartOver.text(lang).to_string()),
        ];
        let keys = self.flow().map(|f| f.nav.clone()).unwrap_or_default();
        screen::menu(&head, &opts, NavLines::default(), &keys, lang)
    }

    pub fn show_resume(&mut self, invalid: bool) {
        let text = self.resume_screen(invalid);
        self.show(text, false);
    }
}
