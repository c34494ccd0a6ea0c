//! Protos: registered templates, which proto a name addresses (its exact pattern, else the one
//! pattern it matches), and the procs a name stands for once its choices and globs are applied.

use std::sync::Arc;

use super::args::{ArgList, Span};
use super::table::{Instance, ProtoRec, Table, lookup_in};
use super::{Flow, FlowError, Lookup, glob_match, is_glob};

/// What a name stands for: one proc, or the instances of a glob, in order.
pub(crate) enum Expansion {
    /// One proc.
    One(Instance),
    /// Every combination of `span`, instances of proto `proto`.
    Span { proto: usize, span: Arc<Span> },
}

/// The proto a name addresses, the arguments read from the name, and whether the name was
/// the proto's exact pattern.
type ProtoMatch = (usize, Vec<(String, String)>, bool);

/// Arguments as `(name, text)` pairs.
type Args = Vec<(String, String)>;

/// A proto's arguments for a name: each placeholder's value (the name's, else the proto's
/// default), and the proto's further arguments (`default_arg` for a name that is not a
/// placeholder, as parproc's `Proto(args=...)`), which every instance has after its own.
fn proto_args(proto: &ProtoRec, extracted: &[(String, String)]) -> (Args, Args) {
    let params = proto.pattern.params();
    let args = params
        .iter()
        .filter_map(|p| {
            lookup_in(extracted)(p)
                .or_else(|| lookup_in(&proto.decl.defaults)(p))
                .map(|v| (p.clone(), v.to_owned()))
        })
        .collect();
    let extras = proto
        .decl
        .defaults
        .iter()
        .filter(|(k, _)| !params.contains(k))
        .cloned()
        .collect();
    (args, extras)
}

impl Flow {
    /// Which proto `name` addresses: its exact pattern first, else the one pattern it matches.
    fn find_proto(&self, t: &Table, name: &str) -> Result<ProtoMatch, FlowError> {
        if let Some(&i) = t.by_pattern.get(name) {
            return Ok((i, Vec::new(), true));
        }
        let sep = self.separator();
        let mut found: Vec<(usize, Vec<(String, String)>)> = t
            .protos
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.pattern.matches(name, &sep).map(|a| (i, a)))
            .collect();
        match found.len() {
            0 => Err(FlowError::NoProto(name.to_owned())),
            1 => {
                let (i, args) = found.pop().expect("one match");
                Ok((i, args, false))
            }
            _ => Err(FlowError::SeveralProtos {
                name: name.to_owned(),
                protos: found
                    .iter()
                    .map(|(i, _)| t.protos[*i].pattern.to_string())
                    .collect(),
            }),
        }
    }

    /// The procs `name` stands for: one, or every combination of choices its globs match, in
    /// pattern order (the first placeholder varies slowest), as one span of arguments.
    pub(crate) fn expand(&self, t: &Table, name: &str) -> Result<Expansion, FlowError> {
        let (pi, extracted, exact) = self.find_proto(t, name)?;
        let proto = &t.protos[pi];
        let (args, extras) = proto_args(proto, &extracted);
        let with_extras = |mut a: Vec<(String, String)>| {
            a.extend(extras.iter().cloned());
            a
        };
        let choices: Vec<(String, Vec<String>)> = if proto.decl.choices.is_empty() {
            Vec::new()
        } else {
            let params_map = self.inner.params.read();
            let look = Lookup {
                name,
                args: &args,
                params: &params_map,
            };
            proto
                .decl
                .choices
                .iter()
                .map(|(k, c)| (k.clone(), c.resolve(&look)))
                .collect()
        };
        let allowed = |k: &str| choices.iter().find(|(n, _)| n == k).map(|(_, c)| c);
        let mut per_param: Vec<Vec<String>> = Vec::with_capacity(args.len());
        let mut globbed = false;
        for (k, v) in &args {
            if is_glob(v) {
                globbed = true;
                let Some(list) = allowed(k) else {
                    return Err(FlowError::GlobWithoutChoices {
                        name: name.to_owned(),
                        proto: proto.pattern.to_string(),
                        arg: k.clone(),
                    });
                };
                let hits: Vec<String> = list.iter().filter(|c| glob_match(v, c)).cloned().collect();
                if hits.is_empty() {
                    return Err(FlowError::GlobNoMatch {
                        glob: v.clone(),
                        arg: k.clone(),
                        allowed: list.clone(),
                    });
                }
                per_param.push(hits);
            } else {
                if let Some(list) = allowed(k)
                    && !list.iter().any(|c| c == v)
                {
                    return Err(FlowError::NotAChoice {
                        arg: k.clone(),
                        value: v.clone(),
                        allowed: list.clone(),
                    });
                }
                per_param.push(vec![v.clone()]);
            }
        }
        if !globbed {
            let inst_name = if exact {
                proto.pattern.fill(lookup_in(&args))?
            } else {
                name.to_owned()
            };
            return Ok(Expansion::One(Instance {
                name: inst_name,
                args: with_extras(args).into(),
                proto: pi,
            }));
        }
        let keys = args.into_iter().map(|(k, _)| k).collect();
        let span = Arc::new(Span::new(keys, per_param, extras));
        // Every combination has the same arguments, so if the first fills the pattern, all do.
        let first = ArgList::of_span(&span, 0);
        let one = proto.pattern.fill(|k| first.get(k))?;
        if span.len() == 1 {
            return Ok(Expansion::One(Instance {
                name: one,
                args: first.to_vec().into(),
                proto: pi,
            }));
        }
        Ok(Expansion::Span { proto: pi, span })
    }
}
