use super::Global;
use crate::container::{self, Report};
use std::io::Write;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the ids only
    #[arg(short, long)]
    pub quiet: bool,
    /// Output format
    #[arg(short, long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<i32> {
    let list = container::list(&g.root)?;
    let mut out = std::io::stdout().lock();
    if args.quiet {
        for c in &list {
            writeln!(out, "{}", c.id)?;
        }
    } else if args.format == "json" {
        writeln!(out, "{}", serde_json::to_string(&list)?)?;
    } else {
        out.write_all(table(&list).as_bytes())?;
    }
    Ok(0)
}

/// runc's table: Go's tabwriter with minwidth 12, padding 3.
fn table(list: &[Report]) -> String {
    let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
        .map(String::from)
        .to_vec()];
    for c in list {
        rows.push(vec![
            c.id.clone(),
            c.pid.to_string(),
            c.status.clone(),
            c.bundle.display().to_string(),
            c.created.clone(),
            c.owner.clone(),
        ]);
    }
    let cols = rows[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
                .max(12 - 3)
                + 3
        })
        .collect();
    let mut s = String::new();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == cols {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}", w = widths[i]));
            }
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_like_tabwriter() {
        let t = table(&[]);
        assert_eq!(
            t,
            "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"
        );
    }
}
