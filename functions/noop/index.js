// Does nothing and returns at once: measures the platform's own overhead.
exports.main = () => ({});
