// Package landscape is the project's built-in data: a procedural landscape
// generator whose label maps (the 16 classes of assets/palettes/landscape.txt)
// and "photos" match pixel for pixel, every photo pixel rendered by its own
// class's renderer.
//
// Generate(seed, w, h, style) draws scene number seed: the layout (horizon,
// mountain ranges with snow above a snow line, hills with forests, the sea
// with its coast and beaches, lakes, rivers, paths, meadows with flowers,
// rocks, trees, bushes, fog banks, clouds) depends on the seed alone; the
// Style (time of day, season, weather, sun bearing and a colour grade, all
// continuous) changes only the photo. Mountains and hills are height fields
// drawn front to back per column (voxel space) and lit from their normals;
// water mirrors what stands beyond its far shore; trees, bushes and boulders
// are sprites with cast shadows; one light direction serves the whole scene
// and distant things fade into the sky colour.
//
// Example and Export make data sets (the trainer's plain folder format), and
// Source serves them to the trainer directly: importing this package
// registers it as `--data synthetic`.
//
// Everything per pixel reads precomputed noise tiles; a 256² pair takes a
// few milliseconds on one core (BenchmarkGenerate256).
package landscape
