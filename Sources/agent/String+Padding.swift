extension String {
    /// The string followed by spaces up to `width` characters (never cut): table columns.
    func padded(to width: Int) -> String {
        let n = count
        return n >= width ? self : self + String(repeating: " ", count: width - n)
    }
}
