/// Left-aligned columns, padded by characters (not bytes) so non-ASCII names line up.
public enum TextTable {
    public static func render(header: [String], rows: [[String]], indent: String = "  ") -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            var line = indent
            for (column, cell) in row.enumerated() {
                let isLast = column == row.count - 1
                line += isLast ? cell : cell + String(repeating: " ", count: widths[column] - cell.count + 2)
            }
            return line
        }
    }
}
