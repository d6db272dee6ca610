//! The one table renderer: columns padded to their widest cell, two spaces apart, no trailing
//! spaces. A row of empty leading cells continues the row above it.

use std::fmt::Write;

pub fn render<const N: usize>(headers: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = headers.map(|header| header.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut output = String::new();
    let mut line_of = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line = String::new();
        for (cell, width) in cells.zip(widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        output.push_str(line.trim_end());
        output.push('\n');
    };
    line_of(&mut headers.iter().copied());
    for row in rows {
        line_of(&mut row.iter().map(String::as_str));
    }
    output
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_are_padded_and_lines_trimmed() {
        let table = super::render(
            ["A", "LONG HEADER"],
            &[
                ["wide cell".to_string(), "x".to_string()],
                [String::new(), "y".to_string()],
            ],
        );
        assert_eq!(
            table,
            "A          LONG HEADER\nwide cell  x\n           y\n"
        );
    }
}
