//! What can go wrong while exporting, importing, parsing or diffing.

use hone_core::adapter::AdapterError;
use hone_core::state::StateError;

/// An export, import or parse that could not be done: what is wrong, where, and what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExportError {
    /// The adapter could not render a predictor's prompt.
    #[error("predictor `{predictor}`: the {adapter} adapter cannot render its prompt: {source}")]
    Render {
        /// The predictor name.
        predictor: String,
        /// The adapter's short name.
        adapter: String,
        /// The adapter's error.
        source: Box<AdapterError>,
    },
    /// The adapter's call is two LM calls (`two_step`: the main LM's free-form answer, then an
    /// extraction LM's call that turns it into the outputs), which one prompt template cannot
    /// express.
    #[error(
        "predictor `{predictor}`: the {adapter} adapter makes two LM calls per prediction (the \
         main LM's free-form answer, then an extraction LM's ChatAdapter call), which an export of \
         one prompt per predictor cannot express; export with a one-call adapter (chat, json, xml \
         or baml)"
    )]
    TwoCalls {
        /// The predictor name.
        predictor: String,
        /// The adapter's short name.
        adapter: String,
    },
    /// The rendered prompt's literal text contains a slot of one of its own input fields, so
    /// `{{name}}` substitution would be ambiguous.
    #[error(
        "predictor `{predictor}`: the prompt text itself contains `{{{{{field}}}}}`, which is also \
         the slot of input `{field}`; rename the field or remove that text from the prompt"
    )]
    SlotCollision {
        /// The predictor name.
        predictor: String,
        /// The input field whose slot occurs in the text.
        field: String,
    },
    /// The prompt's own text holds hone's internal slot marker.
    #[error(
        "predictor `{predictor}`: its prompt text contains hone's internal slot marker \
         (private-use characters U+E000/U+E001 around `hone-slot-N`); remove them from the \
         instructions or demos"
    )]
    Marker {
        /// The predictor name.
        predictor: String,
    },
    /// An input holds images, which a template of text slots cannot carry.
    #[error(
        "predictor `{predictor}`: input `{field}` holds images, which exported prompts do not \
         support yet (an image is sent as its own content part, not as text in a slot); call \
         the program itself for image inputs"
    )]
    ImageInput {
        /// The predictor name.
        predictor: String,
        /// The image input.
        field: String,
    },
    /// Under the BAML adapter, a model-typed input is written as indented JSON, which the
    /// exports' value rules do not cover.
    #[error(
        "predictor `{predictor}`: input `{field}` is a model, which the baml adapter writes as \
         indented JSON (pydantic's model_dump_json) while exported prompts fill slots by the \
         other adapters' rules; export this predictor with the json adapter, or make the input \
         a dict"
    )]
    BamlModelInput {
        /// The predictor name.
        predictor: String,
        /// The model-typed input.
        field: String,
    },
    /// A field name that Jinja reads as something other than a variable.
    #[error(
        "predictor `{predictor}`: input field `{field}` cannot be a Jinja variable (Jinja reads \
         `{field}` as a keyword or constant); rename the field to export Jinja templates"
    )]
    ReservedName {
        /// The predictor name.
        predictor: String,
        /// The field name.
        field: String,
    },
    /// An input needed to fill a template was not given.
    #[error(
        "predictor `{predictor}`: no value for input `{field}`; the exported prompt needs every \
         input field ({fields})"
    )]
    MissingInput {
        /// The predictor name.
        predictor: String,
        /// The missing input.
        field: String,
        /// All input fields, comma-separated.
        fields: String,
    },
    /// The program has no predictor of this name.
    #[error("the program has no predictor `{name}` (its predictors: {available})")]
    UnknownPredictor {
        /// The requested name.
        name: String,
        /// The program's predictor names, comma-separated.
        available: String,
    },
    /// A program file (DSPy's or hone's) could not be read.
    #[error("{0}")]
    State(#[from] StateError),
    /// A file is JSON but not the kind of file expected.
    #[error("not {what}: {problem}")]
    Foreign {
        /// The kind of file expected ("a hone openai export", "a DSPy program file").
        what: String,
        /// What is wrong and what to do.
        problem: String,
    },
    /// A signature given as text could not be read.
    #[error("predictor `{predictor}`: the signature `{text}` is not valid: {message}")]
    Signature {
        /// The predictor name.
        predictor: String,
        /// The signature text.
        text: String,
        /// Why it is not valid.
        message: String,
    },
    /// A completion could not be parsed into the predictor's outputs.
    #[error("predictor `{predictor}`: {source}")]
    Parse {
        /// The predictor name.
        predictor: String,
        /// The adapter's parse error.
        source: Box<AdapterError>,
    },
    /// The file's predictors do not fit the structure given: every misfit at once.
    #[error(
        "the DSPy file does not fit the structure given (the file's predictors: {in_file}):\n  - {}\nhint: \
         leave out --structure and --signature to let `hone import` read the structure off the file",
        problems.join("\n  - ")
    )]
    Misfit {
        /// The file's predictor names, comma-separated.
        in_file: String,
        /// One sentence per misfit.
        problems: Vec<String>,
    },
    /// A file in DSPy's format of version 2.4 and earlier, which DSPy 3.x cannot load either.
    #[error(
        "this is DSPy's old save format (written by DSPy 2.4 and earlier: a predictor with \
         `signature_instructions` and `signature_prefix` instead of a `signature` object, at \
         {predictors}); DSPy 3.x cannot load it either. {hint}"
    )]
    OldFormat {
        /// Where the old-format predictors are.
        predictors: String,
        /// What to do.
        hint: String,
    },
}
