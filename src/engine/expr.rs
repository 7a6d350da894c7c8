//! Branch conditions: a small expression language.
