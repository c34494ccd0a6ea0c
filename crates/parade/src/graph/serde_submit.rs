//! The submit methods that builders of serde tasks ([`Cached`](super::Cached),
//! [`Named`](super::Named)) share: `try_submit_after`'s signature (its body is the builder's
//! own) and `submit`, `try_submit` and `submit_after`, each a `try_submit_after`, written once
//! here. It knows nothing of what the builders do with a submission.

/// Defines `try_submit_after` on a builder of serde tasks, with the documentation and body
/// given (the receiver and the parameters named as given), and `submit`, `try_submit` and
/// `submit_after` through it; `$what` names what is submitted in their docs.
macro_rules! serde_submitters {
    (
        $what:literal,
        $(#[$doc:meta])*
        fn try_submit_after($this:ident, $inputs:ident, $f:ident) $body:block
    ) => {
        $(#[$doc])*
        pub fn try_submit_after<I, R, E, F>($this, $inputs: I, $f: F) -> Handle<R>
        where
            I: Inputs,
            I::Values: Serialize,
            R: Serialize + DeserializeOwned + Send + Sync + 'static,
            E: Display,
            F: FnOnce(I::Values) -> Result<R, E> + Send + 'static,
            M: MockFor<I::Values, R>,
        $body

        #[doc = concat!("Submits the ", $what, " without inputs.")]
        pub fn submit<R, F>(self, f: F) -> Handle<R>
        where
            R: Serialize + DeserializeOwned + Send + Sync + 'static,
            F: FnOnce() -> R + Send + 'static,
            M: MockFor<(), R>,
        {
            self.try_submit_after((), move |()| Ok::<R, std::convert::Infallible>(f()))
        }

        #[doc = concat!(
                    "Submits the ", $what, " without inputs; it may fail (an `Err` fails the task)."
                )]
        pub fn try_submit<R, E, F>(self, f: F) -> Handle<R>
        where
            R: Serialize + DeserializeOwned + Send + Sync + 'static,
            E: Display,
            F: FnOnce() -> Result<R, E> + Send + 'static,
            M: MockFor<(), R>,
        {
            self.try_submit_after((), move |()| f())
        }

        #[doc = concat!(
                    "Submits the ", $what, " to run after `inputs`, on their values."
                )]
        pub fn submit_after<I, R, F>(self, inputs: I, f: F) -> Handle<R>
        where
            I: Inputs,
            I::Values: Serialize,
            R: Serialize + DeserializeOwned + Send + Sync + 'static,
            F: FnOnce(I::Values) -> R + Send + 'static,
            M: MockFor<I::Values, R>,
        {
            self.try_submit_after(inputs, move |v| Ok::<R, std::convert::Infallible>(f(v)))
        }
    };
}
pub(crate) use serde_submitters;
