//! Text templates: `{var}`, `{var|filter}`.
