console.log("veripo");
