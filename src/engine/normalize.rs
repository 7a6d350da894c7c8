//! Input normalisation: Arabic-Indic and Persian digits, spaces, punctuation.
