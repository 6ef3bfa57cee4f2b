//! Recall and damage of the default policy on the generated export.
